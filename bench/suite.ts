// `fabric-transport bench`: every transport available here and its peers, client and server in separate
// processes, on one host (loopback for TCP, the device's own address for RDMA).
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { type PollMode, type TransportKind, transports } from '../src/index.js';
import { deadlineMs, within } from './budget.js';
import { type BenchEndpoint, benchEndpoint } from './endpoints.js';
import { type NodeNetServers, peerMeasurements } from './peer-measurements.js';
import { interleaved, type MeasureSettings, type OurPattern, ourMeasurements, sizesOf } from './plan.js';
import type { BenchResults, MissingPeer } from './results.js';
import { type Progress, runRounds } from './rounds.js';
import { assembleResults } from './run-results.js';
import type { ServerPorts } from './server-process.js';
import { BENCH_MAX_MESSAGE } from './service.js';

export interface SuiteOptions extends MeasureSettings {
  /** Our transports to measure; default: every one available here. */
  transports?: readonly TransportKind[];
  rounds: number;
  /** The address every transport is measured on, instead of loopback / the RDMA device's own. */
  host?: string;
  /** Whether to run the peers (raw node:net, iperf3, ucx_perftest, perftest). */
  peers: boolean;
  /** Poll modes to measure every pattern in; default: 'event' for all, 'spin' and 'hybrid' for latency. */
  pollModes?: readonly PollMode[];
  /** How long 'spin' and 'hybrid' busy-poll at a time, both ends. */
  spinMicros: number;
  progress: Progress;
}

/** Node starts in well under a second on a server, in seconds in the emulated Soft-RoCE guest. */
const SERVER_START_MS = 60_000;

/** Forks the bench server process with `args` and waits for its ports. */
async function startServer(args: string[], children: ChildProcess[]): Promise<ServerPorts> {
  const child = fork(join(__dirname, 'server-process.js'), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const ports = new Promise<ServerPorts>((resolve, reject) => {
    child.once('message', (message) => resolve(message as ServerPorts));
    child.once('exit', (code) =>
      reject(new Error(`the bench server (${args.join(' ')}) exited with ${code}`)),
    );
  });
  return within(SERVER_START_MS, `starting the bench server (${args.join(' ')})`, ports);
}

/** Which patterns each poll mode measures: busy-polling only changes how a wait for the peer ends. */
function pollPlan(options: SuiteOptions): [PollMode, readonly OurPattern[]][] {
  if (options.pollModes) return options.pollModes.map((mode) => [mode, options.patterns]);
  const latency = options.patterns.filter((pattern) => pattern === 'latency');
  return [
    ['event', options.patterns],
    ['spin', latency],
    ['hybrid', latency],
  ];
}

export async function runSuite(options: SuiteOptions): Promise<BenchResults> {
  const started = new Date();
  const available = transports();
  const endpoints: BenchEndpoint[] = [];
  // A transport asked for that cannot be measured is an error; one merely available is skipped, with why.
  const unmeasured: MissingPeer[] = [];
  for (const info of available) {
    const asked = options.transports?.includes(info.kind);
    if (options.transports ? !asked : !info.available) continue;
    try {
      endpoints.push(benchEndpoint(info, options.host));
    } catch (error) {
      if (asked) throw error;
      unmeasured.push({ tool: `fabric-transport ${info.kind}`, reason: (error as Error).message });
    }
  }
  const maxMessageSize = Math.max(
    BENCH_MAX_MESSAGE,
    ...(['latency', 'messages'] as const)
      .filter((p) => options.patterns.includes(p))
      .flatMap((p) => sizesOf(p, options)),
  );
  const children: ChildProcess[] = [];
  try {
    const measurements = [];
    const { spinMicros } = options;
    for (const endpoint of endpoints) {
      for (const [mode, patterns] of pollPlan(options)) {
        if (patterns.length === 0) continue;
        const { port } = await startServer(
          ['fabric', endpoint.host, endpoint.transport, String(maxMessageSize), mode, String(spinMicros)],
          children,
        );
        const target = {
          host: endpoint.host,
          port,
          transport: endpoint.transport,
          maxMessageSize,
          poll: { mode, spinMicros },
        };
        measurements.push(...ourMeasurements(target, options, patterns));
      }
    }
    let missing = unmeasured;
    if (options.peers) {
      const tcp = endpoints.find((e) => e.peers === 'sockets');
      let nodeNet: NodeNetServers | undefined;
      if (tcp) {
        const { port, sinkPort } = await startServer(['node-net', tcp.host], children);
        nodeNet = { host: tcp.host, echoPort: port, sinkPort: sinkPort as number };
      }
      const peers = await peerMeasurements(endpoints, nodeNet, options);
      measurements.push(...peers.measurements);
      missing = [...missing, ...peers.missing];
    }
    const run = await runRounds(
      interleaved(measurements),
      options.rounds,
      deadlineMs(options.budget),
      options.progress,
    );
    return assembleResults({
      tool: 'fabric-transport bench',
      started,
      settings: options,
      endpoints,
      series: run.series,
      missing: [...missing, ...run.missing],
    });
  } finally {
    for (const child of children) child.kill();
  }
}
