// A worker_thread of a chaos client: a connection pool of its own, told by its client what to do; it posts its
// counts every 200 ms (what the client has of a worker the driver terminates) and once more when stopped.
import { parentPort, workerData } from 'node:worker_threads';
import { ConnectionPool, type Endpoint } from './connection-pool.js';
import { newCounts } from './counts.js';

const pool = new ConnectionPool(workerData.size as number, newCounts());
const ticker = setInterval(() => parentPort?.postMessage({ type: 'counts', counts: pool.counts }), 200);

parentPort?.on('message', async (message: { type: string; endpoints?: Endpoint[] }) => {
  if (message.type === 'endpoints') pool.setEndpoints(message.endpoints ?? []);
  if (message.type === 'close-one') pool.closeOne();
  if (message.type === 'stop') {
    clearInterval(ticker);
    await pool.stop();
    parentPort?.postMessage({ type: 'stopped', counts: pool.counts });
    parentPort?.close();
  }
});
