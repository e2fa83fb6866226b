// The chaos run: servers and clients in processes of their own, over every transport available here, doing
// mixed traffic (echoed messages, one-sided writes read back) while this driver kills peer processes, closes
// connections with operations in flight, deregisters regions in use and terminates workers. At the end every
// process that is still alive stops: each must have settled every promise it was given, got its descriptors
// and resident set back near its baseline, and seen every delivered byte intact.
//   node out/test/chaos/driver.js [SECONDS]      (npm run test:chaos)
// FABRIC_TEST_HOST: the address every transport listens on; CHAOS_CONNECTIONS: connections per client thread
// (6); CHAOS_FAULT_MS: the mean time between two faults (400); CHAOS_STOP_MS: how long a process may take to
// stop once told (30000). The Soft-RoCE guest, whose CPU is emulated, runs fewer, slower faults.
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { transports } from '../../src/index.js';
import { RESIDENT_SET_MEASURED } from '../helpers.js';
import type { Endpoint } from './connection-pool.js';
import { addCounts, type Counts, newCounts } from './counts.js';
import type { ProcessReport } from './process-report.js';

const seconds = Number(process.argv[2] ?? 120);
const host = process.env.FABRIC_TEST_HOST ?? '127.0.0.1';
const connections = Number(process.env.CHAOS_CONNECTIONS ?? 6);
const faultMs = Number(process.env.CHAOS_FAULT_MS ?? 400);
const stopMs = Number(process.env.CHAOS_STOP_MS ?? 30000);
const kinds = transports()
  .filter((transport) => transport.available)
  .map((transport) => transport.kind);
/** What a stopped process may hold beyond its warm baseline. */
const RESIDENT_SLACK_MIB = 64;

interface Participant {
  role: string;
  victim: boolean;
  child: ChildProcess;
  ready: Promise<Endpoint[]>;
  counts: Counts;
  report?: ProcessReport;
}

const participants: Participant[] = [];
/** Counts of processes the driver killed, as they last reported them. */
const killed = newCounts();
const faults: Record<string, number> = {};

function spawn(kind: 'server' | 'client', role: string, victim: boolean): Participant {
  const args =
    kind === 'server'
      ? [role, host, kinds.join(',')]
      : [role, String(connections), '2', String(Math.max(1, connections >> 1))];
  const child = fork(join(__dirname, `${kind}.js`), args, { execArgv: ['--expose-gc'], stdio: 'inherit' });
  const participant: Participant = { role, victim, child, counts: newCounts(), ready: Promise.resolve([]) };
  participant.ready = new Promise((resolve, reject) => {
    child.on('message', (message: { type: string; endpoints?: Endpoint[]; counts?: Counts }) => {
      if (message.type === 'ready') resolve(message.endpoints ?? []);
      if (message.type === 'counts') participant.counts = message.counts as Counts;
      if (message.type === 'report') participant.report = message as unknown as ProcessReport;
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${role} exited (${code ?? signal}) before it was ready`)),
    );
  });
  participants.push(participant);
  return participant;
}

const servers = () => participants.filter((p) => p.role.includes('server'));
const clients = () => participants.filter((p) => p.role.includes('client'));

async function broadcastEndpoints(): Promise<void> {
  const endpoints = (await Promise.all(servers().map((server) => server.ready.catch(() => [])))).flat();
  for (const client of clients()) client.child.send({ type: 'endpoints', endpoints });
}

function pick<T>(items: T[]): T | undefined {
  return items[Math.floor(Math.random() * items.length)];
}

async function kill(participant: Participant): Promise<void> {
  participants.splice(participants.indexOf(participant), 1);
  participant.child.kill('SIGKILL');
  addCounts(killed, participant.counts);
  const replacement = spawn(
    participant.role.includes('server') ? 'server' : 'client',
    participant.role,
    true,
  );
  await replacement.ready;
  await broadcastEndpoints();
}

async function injectFault(): Promise<void> {
  const fault = pick([
    'kill-client',
    'kill-server',
    'close-one',
    'close-one',
    'deregister',
    'terminate-worker',
  ]);
  faults[fault as string] = (faults[fault as string] ?? 0) + 1;
  if (fault === 'kill-client') await kill(pick(clients().filter((p) => p.victim)) as Participant);
  if (fault === 'kill-server') await kill(pick(servers().filter((p) => p.victim)) as Participant);
  if (fault === 'close-one') pick(clients())?.child.send({ type: 'close-one' });
  if (fault === 'deregister') pick(servers())?.child.send({ type: 'deregister' });
  if (fault === 'terminate-worker') pick(clients())?.child.send({ type: 'terminate-worker' });
}

async function stopAll(): Promise<void> {
  await Promise.all(
    participants.map(
      (participant) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            participant.child.kill('SIGKILL');
            resolve();
          }, stopMs);
          participant.child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          participant.child.send({ type: 'stop' });
        }),
    ),
  );
}

function problems(): string[] {
  const found: string[] = [];
  for (const participant of participants) {
    const report = participant.report;
    if (report === undefined) {
      found.push(`${participant.role} did not stop within ${stopMs} ms (something it awaited never settled)`);
      continue;
    }
    const { counts, baseline, after } = report;
    if (counts.settled !== counts.started) {
      found.push(
        `${participant.role}: ${counts.started - counts.settled} of ${counts.started} promises never settled`,
      );
    }
    if (after.descriptors > baseline.descriptors) {
      found.push(
        `${participant.role}: ${after.descriptors} descriptors open, ${baseline.descriptors} at the start`,
      );
    }
    const warm = report.warm;
    // Only the processes that ran from the start: a victim started just before the warm baseline was young.
    const measured = RESIDENT_SET_MEASURED && !participant.victim && warm !== undefined;
    if (measured && after.residentMiB > warm.residentMiB + RESIDENT_SLACK_MIB) {
      found.push(`${participant.role}: resident set ${after.residentMiB} MiB, ${warm.residentMiB} once warm`);
    }
  }
  const all = total();
  if (all.corrupt > 0) found.push(`${all.corrupt} messages or ranges arrived altered`);
  if (all.unexpected.length > 0) found.push(`unexpected rejections:\n${all.unexpected.join('\n')}`);
  if (all.verified === 0) found.push('no traffic was verified at all');
  return found;
}

function total(): Counts {
  const all = newCounts();
  addCounts(all, killed);
  for (const participant of participants) {
    addCounts(all, participant.report?.counts ?? participant.counts);
    if (participant.report?.terminated) addCounts(all, participant.report.terminated);
  }
  return all;
}

async function main(): Promise<void> {
  const started = Date.now();
  spawn('server', 'stable-server', false);
  spawn('server', 'victim-server', true);
  await Promise.all(participants.map((participant) => participant.ready));
  for (const role of ['stable-client', 'victim-client-1', 'victim-client-2'])
    spawn('client', role, role !== 'stable-client');
  await Promise.all(participants.map((participant) => participant.ready));
  await broadcastEndpoints();
  const warmAt = started + (seconds / 2) * 1000;
  let warmed = false;
  while (Date.now() - started < seconds * 1000) {
    if (!warmed && Date.now() >= warmAt) {
      for (const participant of participants) participant.child.send({ type: 'baseline' });
      warmed = true;
    }
    await new Promise((resolve) => setTimeout(resolve, faultMs * (0.5 + Math.random())));
    await injectFault();
  }
  await stopAll();
  const all = total();
  const found = problems();
  console.log(
    JSON.stringify(
      {
        seconds: Math.round((Date.now() - started) / 1000),
        transports: kinds,
        faults,
        verified: all.verified,
        verifiedMiB: Math.round(all.verifiedBytes / 2 ** 20),
        operations: all.started,
        rejections: all.rejections,
        processes: participants.map(({ role, report }) => ({
          role,
          baseline: report?.baseline,
          warm: report?.warm,
          after: report?.after,
        })),
      },
      null,
      1,
    ),
  );
  console.log(
    found.length === 0 ? 'chaos: 1 passed, 0 failed' : `chaos: 0 passed, 1 failed\n${found.join('\n')}`,
  );
  process.exit(found.length === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  for (const participant of participants) participant.child.kill('SIGKILL');
  process.exit(1);
});
