// A chaos server process (forked by the driver, told what to do over IPC): one listener per transport it is
// given, a ServedConnection per client connection.
//   node server.js ROLE HOST TRANSPORT[,TRANSPORT...]
import { type Listener, listen, type TransportKind } from '../../src/index.js';
import { descriptorsBackTo } from '../descriptors.js';
import type { Endpoint } from './connection-pool.js';
import { newCounts } from './counts.js';
import { type ProcessReport, type Usage, usage } from './process-report.js';
import { ServedConnection } from './traffic.js';

const [role = 'server', host = '127.0.0.1', kinds = 'tcp'] = process.argv.slice(2);
const counts = newCounts();
const served = new Set<ServedConnection>();
const serving: Promise<void>[] = [];
let warm: Usage | undefined;

async function accept(listener: Listener): Promise<void> {
  for await (const connection of listener) {
    const connectionServed = new ServedConnection(connection, counts);
    served.add(connectionServed);
    serving.push(connectionServed.serve().finally(() => served.delete(connectionServed)));
  }
}

async function main(): Promise<void> {
  const listeners = await Promise.all(
    kinds.split(',').map((transport) => listen({ host, port: 0, transport: transport as TransportKind })),
  );
  // Taken with the listeners open: what the libraries keep for the process's life is then part of it.
  const baseline = await usage();
  const accepting = listeners.map(accept);
  const endpoints: Endpoint[] = listeners.map((listener, i) => ({
    transport: kinds.split(',')[i] as TransportKind,
    host,
    port: listener.port,
  }));
  const ticker = setInterval(() => process.send?.({ type: 'counts', counts }), 500);
  process.on('message', async (message: { type: string }) => {
    if (message.type === 'baseline') warm = await usage();
    if (message.type === 'deregister') {
      const connections = [...served];
      connections[Math.floor(Math.random() * connections.length)]?.swapRegion();
    }
    if (message.type === 'stop') {
      clearInterval(ticker);
      await Promise.all(listeners.map((listener) => listener.close()));
      await Promise.all(accepting);
      await Promise.all([...served].map(({ connection }) => connection.close()));
      await Promise.all(serving);
      await descriptorsBackTo(baseline.descriptors, 5000);
      const report: ProcessReport = { type: 'report', role, counts, baseline, warm, after: await usage() };
      process.send?.(report, () => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', endpoints });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
