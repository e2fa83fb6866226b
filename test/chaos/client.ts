// A chaos client process (forked by the driver, told what to do over IPC): connections on its main thread
// and in `workers` worker_threads, to every server endpoint the driver names.
//   node client.js ROLE CONNECTIONS WORKERS CONNECTIONS_PER_WORKER
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { connect } from '../../src/index.js';
import { descriptorsBackTo } from '../descriptors.js';
import { ConnectionPool, type Endpoint } from './connection-pool.js';
import { addCounts, type Counts, newCounts } from './counts.js';
import { type ProcessReport, type Usage, usage } from './process-report.js';

const [role = 'client', connections = '4', workerCount = '1', perWorker = '2'] = process.argv.slice(2);

interface WorkerState {
  worker: Worker;
  counts: Counts;
  stopped?: Promise<Counts>;
}

const pool = new ConnectionPool(Number(connections), newCounts());
const workers: WorkerState[] = [];
const terminated = newCounts();
let warm: Usage | undefined;
let endpoints: Endpoint[] = [];
let stopping = false;
/** The worker being replaced, if any: stop() waits for it. */
let replacing: Promise<void> = Promise.resolve();

function startWorker(): void {
  const worker = new Worker(join(__dirname, 'client-worker.js'), { workerData: { size: Number(perWorker) } });
  const state: WorkerState = { worker, counts: newCounts() };
  state.stopped = new Promise((resolve) => {
    worker.on('message', (message: { type: string; counts: Counts }) => {
      state.counts = message.counts;
      if (message.type === 'stopped') resolve(message.counts);
    });
    worker.on('exit', () => resolve(state.counts));
  });
  worker.postMessage({ type: 'endpoints', endpoints });
  workers.push(state);
}

async function terminateOne(): Promise<void> {
  const state = workers.splice(Math.floor(Math.random() * workers.length), 1)[0];
  if (state === undefined) return;
  await state.worker.terminate();
  addCounts(terminated, state.counts);
  if (!stopping) startWorker();
}

async function stop(baseline: Usage): Promise<void> {
  stopping = true;
  await replacing;
  await pool.stop();
  for (const { worker } of workers) worker.postMessage({ type: 'stop' });
  const counts = newCounts();
  addCounts(counts, pool.counts);
  for (const state of workers) addCounts(counts, await (state.stopped as Promise<Counts>));
  await Promise.all(workers.map(({ worker }) => worker.terminate()));
  await descriptorsBackTo(baseline.descriptors, 5000);
  const report: ProcessReport = {
    type: 'report',
    role,
    counts,
    terminated,
    baseline,
    warm,
    after: await usage(),
  };
  process.send?.(report, () => process.exit(0));
}

/** Everything counted so far, terminated workers included: what the driver keeps of a client it kills. */
function countsSoFar(): Counts {
  const counts = newCounts();
  addCounts(counts, pool.counts);
  addCounts(counts, terminated);
  for (const state of workers) addCounts(counts, state.counts);
  return counts;
}

/**
 * Starts the traffic, once the first endpoints are known. One connection to each transport goes first, so that
 * what the libraries keep for the process's life (RDMA device contexts, this thread's CM channel) is part of
 * the baseline.
 */
async function begin(): Promise<Usage> {
  const byTransport = new Map(endpoints.map((endpoint) => [endpoint.transport, endpoint]));
  for (const endpoint of byTransport.values()) {
    await connect(endpoint)
      .then((connection) => connection.close())
      .catch(() => {});
  }
  const now = await usage();
  for (let i = 0; i < Number(workerCount); i++) startWorker();
  pool.setEndpoints(endpoints);
  return now;
}

async function main(): Promise<void> {
  let baseline: Promise<Usage> | undefined;
  const ticker = setInterval(() => process.send?.({ type: 'counts', counts: countsSoFar() }), 500);
  process.on('message', (message: { type: string; endpoints?: Endpoint[] }) => {
    if (message.type === 'endpoints') {
      endpoints = message.endpoints ?? [];
      if (baseline === undefined) {
        baseline = begin();
      } else {
        pool.setEndpoints(endpoints);
        for (const { worker } of workers) worker.postMessage(message);
      }
    }
    if (message.type === 'close-one') {
      const target = Math.floor(Math.random() * (workers.length + 1));
      if (target === workers.length) pool.closeOne();
      else workers[target]?.worker.postMessage(message);
    }
    if (message.type === 'terminate-worker') replacing = replacing.then(terminateOne);
    if (message.type === 'baseline') void usage().then((now) => (warm = now));
    if (message.type === 'stop') {
      clearInterval(ticker);
      void (baseline ?? usage()).then(stop);
    }
  });
  process.send?.({ type: 'ready' });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
