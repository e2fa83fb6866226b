// What one benchmark run produced: the JSON results file is exactly this object.

/** What is measured. Peers measure 'stream' (one byte stream), compared with write, read and messages. */
export type Pattern =
  | 'latency'
  | 'write'
  | 'read'
  | 'messages'
  | 'registration'
  | 'reregistration'
  | 'tensor'
  | 'forwarding'
  | 'mlp'
  | 'stream';

/** Patterns in the order runs, tables and charts take them. */
export const PATTERN_ORDER: readonly Pattern[] = [
  'latency',
  'write',
  'read',
  'messages',
  'stream',
  'registration',
  'reregistration',
  'tensor',
  'forwarding',
  'mlp',
];

/** Our bandwidth patterns: the byte-stream peers are the reference for each of them. */
export const STREAM_COMPARED: readonly Pattern[] = ['write', 'read', 'messages'];

/**
 * The series shown for `pattern` in a table or a chart panel: its own and, beside our bandwidths, the
 * byte-stream peers they are compared with.
 */
export function seriesShownFor(pattern: Pattern, all: readonly Series[]): Series[] {
  const own = all.filter((s) => s.pattern === pattern);
  const beside = STREAM_COMPARED.includes(pattern) && own.some((s) => s.role === 'ours');
  return beside ? [...own, ...all.filter((s) => s.pattern === 'stream')] : own;
}

/** The unit of each pattern's figure, and whether lower is better. */
export const UNITS: Record<Pattern, { unit: string; lowerIsBetter: boolean; label: string }> = {
  latency: { unit: 'µs', lowerIsBetter: true, label: 'message ping-pong round trip, p50' },
  write: { unit: 'GB/s', lowerIsBetter: false, label: 'one-sided write bandwidth' },
  read: { unit: 'GB/s', lowerIsBetter: false, label: 'one-sided read bandwidth' },
  messages: { unit: 'GB/s', lowerIsBetter: false, label: 'message bandwidth' },
  stream: { unit: 'GB/s', lowerIsBetter: false, label: 'byte stream bandwidth' },
  registration: { unit: 'µs', lowerIsBetter: true, label: 'register + deregister' },
  reregistration: {
    unit: 'µs',
    lowerIsBetter: true,
    label: 'register the same memory again + deregister (the registration cache)',
  },
  tensor: { unit: 'ms', lowerIsBetter: true, label: 'tensor round trip (read in, write back)' },
  forwarding: {
    unit: 'µs',
    lowerIsBetter: true,
    label:
      'a forwarded device call (examples/remote-tensor): 0 B a no-op, else copyIn + copyOut of that size',
  },
  mlp: {
    unit: 'ms',
    lowerIsBetter: true,
    label: "the example's MLP, one batch with that much input (1 KiB a row)",
  },
};

/** One line of figures: a transport of ours or a peer tool, one pattern, every size it ran at. */
export interface Series {
  /** Shown in tables and the chart legend, e.g. 'tcp', 'roce', 'iperf3', 'ib_write_bw (rxe0)'. */
  name: string;
  /** 'ours' for fabric-transport's transports; 'peer' for the tools we compare with. */
  role: 'ours' | 'peer';
  pattern: Pattern;
  /** The transport a peer stands beside ('tcp' for node:net, iperf3, UCX; 'roce'/'ib' for perftest). */
  fabric: string;
  points: Point[];
}

export interface Point {
  /** Bytes per operation (message, write, read, tensor, registered region). */
  size: number;
  /** The figure of each round, in the pattern's unit (p50 for latencies). */
  rounds: number[];
  /** The median of the rounds: the reported figure. */
  median: number;
  /** The spread of the rounds: the lowest and the highest. */
  min: number;
  max: number;
  /** For latencies: the median of the rounds' 99th percentiles, where the tool reports it. */
  p99?: number;
  /** Operations timed, all rounds together. */
  operations: number;
}

/** A peer tool that was not run, and why. */
export interface MissingPeer {
  tool: string;
  reason: string;
}

export interface BenchResults {
  tool: 'fabric-transport bench' | 'fabric-transport pingpong';
  version: string;
  startedAt: string;
  seconds: number;
  machine: {
    hostname: string;
    os: string;
    kernel: string;
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
  };
  node: string;
  settings: {
    transports: string[];
    patterns: Pattern[];
    /** --sizes, where it replaced each pattern's own. */
    sizes?: number[];
    peers: boolean;
    rounds: number;
    inFlight: number;
    duration?: number;
    iterations?: number;
  };
  /** Every transport with available/unavailable and why (as `fabric-transport info`). */
  transports: { kind: string; available: boolean; reason?: string }[];
  /** Where each transport ran: the address both processes used, and the device for RDMA. */
  endpoints: { transport: string; host: string; device?: string; gidIndex?: number }[];
  series: Series[];
  missing: MissingPeer[];
}
