// The C tools and raw sockets each transport of ours is compared with, measured in the same run.
import type { Budget } from './budget.js';
import type { BenchEndpoint } from './endpoints.js';
import { forwardedCall, mlpBatch } from './patterns/remoting.js';
import { type CopyMode, cCopy } from './peers/c-copy.js';
import { C_COMPILER } from './peers/c-program.js';
import { cStream } from './peers/c-stream.js';
import { IPERF3, iperf3Stream } from './peers/iperf3.js';
import { rawLatency, rawStream } from './peers/node-net.js';
import { oneSidedBandwidth, PERFTEST, type RdmaEndpoint, sendLatency } from './peers/perftest.js';
import { installed, type ToolInfo } from './peers/tool.js';
import {
  UCX_CMA,
  UCX_PERFTEST,
  UCX_POSIX,
  UCX_TCP,
  type UcxTransports,
  ucxSeriesName,
  ucxTagBandwidth,
  ucxTagLatency,
} from './peers/ucx-perftest.js';
import { type Measurement, type MeasureSettings, type OurPattern, sizesOf } from './plan.js';
import { type MissingPeer, type Pattern, STREAM_COMPARED } from './results.js';

/** Where the suite's own raw node:net echo and sink servers listen. */
export interface NodeNetServers {
  host: string;
  echoPort: number;
  sinkPort: number;
}

type Measure = (size: number, budget: Budget) => ReturnType<Measurement['measure']>;

interface Peer {
  name: string;
  pattern: Pattern;
  fabric: string;
  sizes: readonly number[];
  measure: Measure;
  /** The program it runs, where it is one to install. */
  tool?: ToolInfo;
}

function measurementsOf(peer: Peer, budget: Budget): Measurement[] {
  return peer.sizes.map((size) => ({
    series: { name: peer.name, role: 'peer', pattern: peer.pattern, fabric: peer.fabric },
    size,
    measure: (pace) => peer.measure(size, pace === undefined ? budget : { ...budget, pace }),
  }));
}

/** The sizes of `pattern` where the run measures it, else none. */
function patternSizes(pattern: OurPattern, settings: MeasureSettings): readonly number[] {
  return settings.patterns.includes(pattern) ? sizesOf(pattern, settings) : [];
}

/** The sizes of the byte-stream peers: every size of the bandwidth patterns that run. */
function streamSizes(settings: MeasureSettings): number[] {
  const sizes = settings.patterns
    .filter((p) => STREAM_COMPARED.includes(p))
    .flatMap((p) => sizesOf(p, settings));
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/** Raw node:net, iperf3, ucx_perftest over TCP, a C stream: beside a transport over sockets. */
function socketPeers(endpoint: BenchEndpoint, nodeNet: NodeNetServers, settings: MeasureSettings): Peer[] {
  const { host, transport: fabric } = endpoint;
  const sizes = (pattern: OurPattern) => patternSizes(pattern, settings);
  const latency = sizes('latency');
  const stream = streamSizes(settings);
  const { inFlight } = settings;
  return [
    {
      name: 'node:net',
      pattern: 'latency',
      fabric,
      sizes: latency,
      measure: (size, budget) => rawLatency(nodeNet.host, nodeNet.echoPort, size, budget),
    },
    {
      name: 'ucx_perftest tag_lat',
      tool: UCX_PERFTEST,
      pattern: 'latency',
      fabric,
      sizes: latency,
      measure: (size, budget) => ucxTagLatency(host, UCX_TCP, size, budget),
    },
    {
      name: 'node:net stream',
      pattern: 'stream',
      fabric,
      sizes: stream,
      measure: (size, budget) => rawStream(nodeNet.host, nodeNet.sinkPort, size, budget, inFlight),
    },
    {
      name: 'iperf3',
      tool: IPERF3,
      pattern: 'stream',
      fabric,
      sizes: stream,
      measure: (size, budget) => iperf3Stream(host, size, budget),
    },
    {
      name: 'C stream',
      tool: C_COMPILER,
      pattern: 'stream',
      fabric,
      sizes: stream,
      measure: (size, budget) => cStream(host, size, budget),
    },
    // The remote-tensor example's device in the client's own process: what forwarding adds is measured
    // against it (listed with TCP, which every run measures).
    {
      name: 'local device',
      pattern: 'forwarding',
      fabric,
      sizes: sizes('forwarding'),
      measure: (size, budget) => forwardedCall('local', size, budget),
    },
    {
      name: 'local device',
      pattern: 'mlp',
      fabric,
      sizes: sizes('mlp'),
      measure: (size, budget) => mlpBatch('local', size, budget),
    },
    {
      name: 'ucx_perftest tag_bw',
      tool: UCX_PERFTEST,
      pattern: 'stream',
      fabric,
      sizes: stream,
      measure: (size, budget) => ucxTagBandwidth(host, UCX_TCP, size, budget, inFlight),
    },
  ];
}

function verbsPeers(endpoint: BenchEndpoint & RdmaEndpoint, settings: MeasureSettings): Peer[] {
  const on = (tool: string) => `${tool} (${endpoint.device})`;
  const sizes = (pattern: OurPattern) => patternSizes(pattern, settings);
  const fabric = endpoint.transport;
  return [
    {
      name: on('ib_send_lat'),
      tool: PERFTEST,
      pattern: 'latency',
      fabric,
      sizes: sizes('latency'),
      measure: (size, budget) => sendLatency(endpoint, size, budget),
    },
    {
      name: on('ib_write_bw'),
      tool: PERFTEST,
      pattern: 'write',
      fabric,
      sizes: sizes('write'),
      measure: (size, budget) => oneSidedBandwidth('ib_write_bw', endpoint, size, budget, settings.inFlight),
    },
    {
      name: on('ib_read_bw'),
      tool: PERFTEST,
      pattern: 'read',
      fabric,
      sizes: sizes('read'),
      measure: (size, budget) => oneSidedBandwidth('ib_read_bw', endpoint, size, budget, settings.inFlight),
    },
  ];
}

/**
 * Beside the shared-memory transport: ucx_perftest over POSIX shared memory (the lowest latency and the ring
 * bandwidth a C stack reaches between two processes here) and over cross-memory attach, and two C copy
 * loops: process_vm_writev into another process (with cma, the single-copy limit of a one-sided transfer),
 * memcpy within one (the ceiling of any copy).
 */
function shmPeers(endpoint: BenchEndpoint, settings: MeasureSettings): Peer[] {
  const { host, transport: fabric } = endpoint;
  const stream = streamSizes(settings);
  const { inFlight } = settings;
  const ucxBandwidth = (transports: UcxTransports): Peer => ({
    name: ucxSeriesName('tag_bw', transports),
    tool: UCX_PERFTEST,
    pattern: 'stream',
    fabric,
    sizes: stream,
    measure: (size, budget) => ucxTagBandwidth(host, transports, size, budget, inFlight),
  });
  const copy = (mode: CopyMode): Peer => ({
    name: `C ${mode}`,
    tool: C_COMPILER,
    pattern: 'stream',
    fabric,
    sizes: stream,
    measure: (size, budget) => cCopy(mode, size, budget),
  });
  return [
    {
      name: ucxSeriesName('tag_lat', UCX_POSIX),
      tool: UCX_PERFTEST,
      pattern: 'latency',
      fabric,
      sizes: patternSizes('latency', settings),
      measure: (size, budget) => ucxTagLatency(host, UCX_POSIX, size, budget),
    },
    ucxBandwidth(UCX_POSIX),
    ucxBandwidth(UCX_CMA),
    copy('process_vm_writev'),
    copy('memcpy'),
  ];
}

/** The reference tools of each family a transport names for its kinds (its localTarget's `peers`). */
const PEER_FAMILIES: Record<
  string,
  (endpoint: BenchEndpoint, nodeNet: NodeNetServers | undefined, settings: MeasureSettings) => Peer[]
> = {
  sockets: (endpoint, nodeNet, settings) => socketPeers(endpoint, nodeNet as NodeNetServers, settings),
  verbs: (endpoint, _nodeNet, settings) =>
    verbsPeers({ ...endpoint, device: endpoint.device as string }, settings),
  shm: (endpoint, _nodeNet, settings) => shmPeers(endpoint, settings),
};

/**
 * Measurements of every peer that applies to `endpoints` and is installed; the others, as missing. `nodeNet`
 * is where the raw node:net servers listen, needed when one of the endpoints is measured beside sockets.
 */
export async function peerMeasurements(
  endpoints: BenchEndpoint[],
  nodeNet: NodeNetServers | undefined,
  settings: MeasureSettings,
): Promise<{ measurements: Measurement[]; missing: MissingPeer[] }> {
  const peers = endpoints.flatMap(
    (endpoint) => PEER_FAMILIES[endpoint.peers ?? '']?.(endpoint, nodeNet, settings) ?? [],
  );
  const measurements: Measurement[] = [];
  const missing = new Map<string, MissingPeer>();
  for (const peer of peers.filter((p) => p.sizes.length > 0)) {
    const { tool } = peer;
    if (tool && !(await installed(tool.command))) {
      missing.set(tool.command, {
        tool: tool.command,
        reason: `not installed (Debian package: ${tool.debianPackage})`,
      });
      continue;
    }
    measurements.push(...measurementsOf(peer, settings.budget));
  }
  return { measurements, missing: [...missing.values()] };
}
