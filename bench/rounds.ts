// Runs the planned measurements round after round and gathers their figures into series.
import { type RoundResult, within } from './budget.js';
import type { Measurement } from './plan.js';
import { type MissingPeer, type Pattern, type Point, type Series, UNITS } from './results.js';
import { formatSize, median } from './statistics.js';

export type Progress = (done: number, total: number, label: string) => void;

function key(series: Measurement['series']): string {
  return `${series.pattern}\u0000${series.name}`;
}

/** A latency of ours paces the latency peers beside its transport; any bandwidth, the bandwidth peers. */
function paceKey(series: Measurement['series'], size: number): string {
  return `${series.fabric} ${series.pattern === 'latency' ? 'latency' : 'bandwidth'} ${size}`;
}

/** Seconds per operation of a result of ours. */
function secondsPerOperation(pattern: Pattern, size: number, result: RoundResult): number {
  const { unit } = UNITS[pattern];
  if (unit === 'GB/s') return size / (result.value * 1e9);
  return unit === 'ms' ? result.value / 1e3 : result.value / 1e6;
}

function pointOf(size: number, results: RoundResult[]): Point {
  const values = results.map((r) => r.value);
  const p99s = results.flatMap((r) => (r.p99 === undefined ? [] : [r.p99]));
  return {
    size,
    rounds: values,
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    ...(p99s.length > 0 ? { p99: median(p99s) } : {}),
    operations: results.reduce((sum, r) => sum + r.operations, 0),
  };
}

/**
 * Runs every measurement `rounds` times, in order within each round, each within `deadlineMs`. A peer tool
 * that fails at a size is dropped at that size and reported as missing with its error; a failure of ours
 * ends the run.
 */
export async function runRounds(
  measurements: Measurement[],
  rounds: number,
  deadlineMs: number,
  progress: Progress,
): Promise<{ series: Series[]; missing: MissingPeer[] }> {
  const figures = new Map<string, Map<number, RoundResult[]>>();
  const failed = new Map<string, MissingPeer>();
  const paces = new Map<string, number>();
  const total = measurements.length * rounds;
  let done = 0;
  for (let round = 1; round <= rounds; round++) {
    for (const { series, size, measure } of measurements) {
      const label = `${series.name} ${series.pattern} ${formatSize(size)}`;
      progress(done++, total, `round ${round}/${rounds}: ${label}`);
      if (failed.has(`${key(series)} ${size}`)) continue;
      let result: RoundResult;
      try {
        result = await within(deadlineMs, label, measure(paces.get(paceKey(series, size))));
      } catch (error) {
        if (series.role === 'ours') throw error;
        const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
        failed.set(`${key(series)} ${size}`, {
          tool: `${series.name} at ${formatSize(size)}`,
          reason: `failed: ${reason}`,
        });
        figures.get(key(series))?.delete(size);
        continue;
      }
      if (series.role === 'ours')
        paces.set(paceKey(series, size), secondsPerOperation(series.pattern, size, result));
      const bySize = figures.get(key(series)) ?? new Map<number, RoundResult[]>();
      figures.set(key(series), bySize);
      bySize.set(size, [...(bySize.get(size) ?? []), result]);
    }
  }
  progress(total, total, 'done');
  const series: Series[] = [];
  for (const { series: info } of measurements) {
    const bySize = figures.get(key(info));
    if (!bySize || bySize.size === 0 || series.some((s) => key(s) === key(info))) continue;
    series.push({ ...info, points: [...bySize].map(([size, results]) => pointOf(size, results)) });
  }
  return { series, missing: [...failed.values()] };
}
