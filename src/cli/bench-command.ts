import { runSuite } from '../../bench/suite.js';
import type { TransportKind } from '../options.js';
import { Flags, resolvedOptions } from './arguments.js';
import {
  MEASUREMENT_SWITCHES,
  MEASUREMENT_USAGE,
  MEASUREMENT_VALUED,
  measureSettings,
  prepareOut,
  progressOf,
  reportResults,
} from './measurement-flags.js';

export const BENCH_USAGE = `usage: fabric-transport bench [options]

Measures every transport available on this host (TCP on loopback, RoCE/InfiniBand on the device's own address)
and, in the same run, its peers: raw node:net, iperf3 and ucx_perftest (UCX_TLS=tcp) beside TCP, perftest's
ib_send_lat / ib_write_bw / ib_read_bw beside RDMA. Client and server run in separate processes.

  --transport LIST  tcp, roce, ib (default: FABRIC_TRANSPORT when it names one, else every one available here)
  --host ADDR       measure on this local address instead (an address of the RDMA device for roce/ib)
  --no-peers        measure our transports only
${MEASUREMENT_USAGE}
Files go to ./bench-results unless --out says otherwise.
`;

const KINDS: readonly TransportKind[] = ['tcp', 'roce', 'ib'];

export async function benchCommand(args: string[]): Promise<void> {
  const flags = Flags.parse(
    args,
    [...MEASUREMENT_VALUED, '--transport', '--host'],
    [...MEASUREMENT_SWITCHES, '--no-peers'],
  );
  // FABRIC_TRANSPORT names the one transport to measure, as it names the one to use; 'auto' means all.
  const { transport } = resolvedOptions();
  const transports =
    flags.choices<TransportKind>('--transport', KINDS) ?? (transport === 'auto' ? undefined : [transport]);
  const host = flags.text('--host');
  const out = prepareOut(flags.text('--out') ?? 'bench-results');
  // Stopping a run must end the tools and servers it started: exiting runs the 'exit' handlers that kill them.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  const results = await runSuite({
    ...measureSettings(flags, 3),
    ...(transports ? { transports } : {}),
    ...(host ? { host } : {}),
    peers: !flags.has('--no-peers'),
    progress: progressOf(flags),
  });
  reportResults(results, flags, out);
}
