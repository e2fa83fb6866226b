// What a run measures: for each pattern and size, each contender once per round.
import type { Budget, RoundResult } from './budget.js';
import { type FabricTarget, seriesName } from './fabric-target.js';
import { type BandwidthPattern, bandwidth } from './patterns/bandwidth.js';
import { messageLatency } from './patterns/latency.js';
import { registration } from './patterns/registration.js';
import { forwardedCall, mlpBatch } from './patterns/remoting.js';
import { tensorRoundTrip } from './patterns/tensor.js';
import { PATTERN_ORDER, type Pattern, type Series, STREAM_COMPARED } from './results.js';

/** The patterns our transports run (peers also run 'stream'). */
export type OurPattern = Exclude<Pattern, 'stream'>;
export const OUR_PATTERNS: readonly OurPattern[] = [
  'latency',
  'write',
  'read',
  'messages',
  'registration',
  'reregistration',
  'tensor',
  'forwarding',
  'mlp',
];

const KiB = 1 << 10;
const MiB = 1 << 20;
export const DEFAULT_SIZES: Record<OurPattern, number[]> = {
  latency: [8, 64, 512, 4 * KiB, 64 * KiB],
  write: [4 * KiB, 64 * KiB, MiB, 16 * MiB, 64 * MiB],
  read: [4 * KiB, 64 * KiB, MiB, 16 * MiB, 64 * MiB],
  messages: [4 * KiB, 64 * KiB, MiB, 16 * MiB, 64 * MiB],
  registration: [4 * KiB, 64 * KiB, MiB, 16 * MiB, 64 * MiB],
  reregistration: [4 * KiB, 64 * KiB, MiB, 16 * MiB, 64 * MiB],
  tensor: [MiB, 16 * MiB, 256 * MiB],
  forwarding: [0, 64 * KiB, MiB, 4 * MiB],
  mlp: [16 * KiB, 256 * KiB],
};

export interface Measurement {
  /** Which series the figures go to (a transport of ours, or a peer tool). */
  series: Omit<Series, 'points'>;
  size: number;
  /** Runs one round; `pace` is what a peer's Budget.pace takes. */
  measure: (pace?: number) => Promise<RoundResult>;
}

export interface MeasureSettings {
  patterns: readonly OurPattern[];
  /** Overrides every pattern's default sizes. */
  sizes?: readonly number[];
  budget: Budget;
  inFlight: number;
}

export function sizesOf(pattern: OurPattern, settings: MeasureSettings): readonly number[] {
  return settings.sizes ?? DEFAULT_SIZES[pattern];
}

function measureOnce(pattern: OurPattern, target: FabricTarget, size: number, settings: MeasureSettings) {
  switch (pattern) {
    case 'latency':
      return () => messageLatency(target, size, settings.budget);
    case 'registration':
      return () => registration(target, size, settings.budget, false);
    case 'reregistration':
      return () => registration(target, size, settings.budget, true);
    case 'tensor':
      return () => tensorRoundTrip(target, size, settings.budget);
    case 'forwarding':
      return () => forwardedCall({ target, transfer: 'zero-copy' }, size, settings.budget);
    case 'mlp':
      return () => mlpBatch({ target, transfer: 'zero-copy' }, size, settings.budget);
    default:
      return () => bandwidth(pattern as BandwidthPattern, target, size, settings.budget, settings.inFlight);
  }
}

/** Every measurement of one of our transports against the bench server at `target`, in `patterns`. */
export function ourMeasurements(
  target: FabricTarget,
  settings: MeasureSettings,
  patterns: readonly OurPattern[] = settings.patterns,
): Measurement[] {
  const name = seriesName(target);
  return patterns.flatMap((pattern) =>
    sizesOf(pattern, settings).flatMap((size) => [
      {
        series: { name, role: 'ours' as const, pattern, fabric: target.transport },
        size,
        measure: measureOnce(pattern, target, size, settings),
      },
      ...naiveForwarding(pattern, target, size, settings),
    ]),
  );
}

/** Beside the example's forwarding over a transport: the naive way, tensors inside the call messages. */
function naiveForwarding(pattern: OurPattern, target: FabricTarget, size: number, settings: MeasureSettings) {
  if (pattern !== 'forwarding' && pattern !== 'mlp') return [];
  const site = { target, transfer: 'inline' as const };
  return [
    {
      series: {
        name: `${seriesName(target)} naive`,
        role: 'peer' as const,
        pattern,
        fabric: target.transport,
      },
      size,
      measure: () =>
        pattern === 'forwarding'
          ? forwardedCall(site, size, settings.budget)
          : mlpBatch(site, size, settings.budget),
    },
  ];
}

function group(pattern: Pattern): number {
  return STREAM_COMPARED.includes(pattern) || pattern === 'stream'
    ? PATTERN_ORDER.indexOf('write')
    : PATTERN_ORDER.indexOf(pattern);
}

/**
 * Measurements in the order a round runs them: latency, then the bandwidths size by size, then registration
 * and tensor; at each size every contender back to back, ours before the peers they pace.
 */
export function interleaved(measurements: Measurement[]): Measurement[] {
  return [...measurements].sort(
    (a, b) =>
      group(a.series.pattern) - group(b.series.pattern) ||
      a.size - b.size ||
      PATTERN_ORDER.indexOf(a.series.pattern) - PATTERN_ORDER.indexOf(b.series.pattern),
  );
}
