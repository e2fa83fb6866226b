import { runSuite } from '../../bench/suite.js';
import type { PollMode, TransportKind } from '../api/options.js';
import { registeredKinds } from '../core/options.js';
import { Flags, optionSpecs, resolvedOptions } from './arguments.js';
import {
  MEASUREMENT_OPTIONS,
  MEASUREMENT_USAGE,
  measureSettings,
  prepareOut,
  progressOf,
  reportResults,
} from './measurement-flags.js';

export const BENCH_USAGE = `usage: fabric-transport bench [options]

Measures every transport available on this host (TCP on loopback, RoCE/InfiniBand on the device's own address)
and, in the same run, its peers: raw node:net, iperf3 and ucx_perftest (UCX_TLS=tcp) beside TCP, perftest's
ib_send_lat / ib_write_bw / ib_read_bw beside RDMA. Client and server run in separate processes.

  --transport LIST  ${registeredKinds().join(', ')} (default: FABRIC_TRANSPORT when it names one, else every one available here)
  --host ADDR       measure on this local address instead (an address of the RDMA device for roce/ib)
  --no-peers        measure our transports only
  --poll LIST       event, spin, hybrid: every pattern in each (default: FABRIC_POLL when set, else event,
                    with spin and hybrid for latency only)
  --spin-us N       how long spin and hybrid busy-poll at a time, both ends (default: FABRIC_SPIN_US, or 50)
${MEASUREMENT_USAGE}
Files go to ./bench-results unless --out says otherwise.
`;

const POLL_MODES: readonly PollMode[] = ['event', 'spin', 'hybrid'];
const BENCH_OPTIONS = {
  ...MEASUREMENT_OPTIONS,
  ...optionSpecs(['transport', 'host', 'poll', 'spin-us'], ['no-peers']),
};

export async function benchCommand(args: string[]): Promise<void> {
  const flags = Flags.parse(args, BENCH_OPTIONS);
  // FABRIC_TRANSPORT names the one transport to measure, as it names the one to use; 'auto' means all.
  const { transport, pollMode, spinMicros } = resolvedOptions();
  const transports =
    flags.choices<TransportKind>('transport', registeredKinds()) ??
    (transport === 'auto' ? undefined : [transport]);
  // Likewise FABRIC_POLL names the one poll mode to measure.
  const pollModes =
    flags.choices<PollMode>('poll', POLL_MODES) ??
    (process.env.FABRIC_POLL === undefined ? undefined : [pollMode]);
  const host = flags.text('host');
  const out = prepareOut(flags.text('out') ?? 'bench-results');
  // Stopping a run must end the tools and servers it started: exiting runs the 'exit' handlers that kill them.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  const results = await runSuite({
    ...measureSettings(flags, 3),
    ...(transports ? { transports } : {}),
    ...(host ? { host } : {}),
    ...(pollModes ? { pollModes } : {}),
    spinMicros: flags.number('spin-us', 0, 1_000_000) ?? spinMicros,
    peers: !flags.has('no-peers'),
    progress: progressOf(flags),
  });
  reportResults(results, flags, out);
}
