// Runs the planned measurements round after round and gathers their figures into series.
import type { RoundResult } from './budget.js';
import type { Measurement } from './plan.js';
import { type MissingPeer, type Pattern, type Series, UNITS } from './results.js';
import { formatSize, median } from './statistics.js';

export type Progress = (done: number, total: number, label: string) => void;

function key(series: Measurement['series']): string {
  return `${series.pattern}\u0000${series.name}`;
}

/** Latencies pace latency peers; any bandwidth of ours paces the bandwidth peers of the same size. */
function paceKey(pattern: Pattern, size: number): string {
  return `${pattern === 'latency' ? 'latency' : 'bandwidth'} ${size}`;
}

/** Seconds per operation of a result of ours. */
function secondsPerOperation(pattern: Pattern, size: number, result: RoundResult): number {
  const { unit } = UNITS[pattern];
  if (unit === 'GB/s') return size / (result.value * 1e9);
  return unit === 'ms' ? result.value / 1e3 : result.value / 1e6;
}

/**
 * Runs every measurement `rounds` times, in order within each round. A peer tool that fails is dropped for
 * the rest of the run and reported as missing with its error; a failure of ours ends the run.
 */
export async function runRounds(
  measurements: Measurement[],
  rounds: number,
  progress: Progress,
): Promise<{ series: Series[]; missing: MissingPeer[] }> {
  const figures = new Map<string, Map<number, RoundResult[]>>();
  const failed = new Map<string, MissingPeer>();
  const paces = new Map<string, number>();
  const total = measurements.length * rounds;
  let done = 0;
  for (let round = 1; round <= rounds; round++) {
    for (const { series, size, measure } of measurements) {
      progress(
        done++,
        total,
        `round ${round}/${rounds}: ${series.name} ${series.pattern} ${formatSize(size)}`,
      );
      if (failed.has(key(series))) continue;
      let result: RoundResult;
      try {
        result = await measure(paces.get(paceKey(series.pattern, size)));
      } catch (error) {
        if (series.role === 'ours') throw error;
        const reason = error instanceof Error ? error.message : String(error);
        failed.set(key(series), { tool: series.name, reason: `failed: ${reason.split('\n')[0]}` });
        continue;
      }
      if (series.role === 'ours')
        paces.set(paceKey(series.pattern, size), secondsPerOperation(series.pattern, size, result));
      const bySize = figures.get(key(series)) ?? new Map<number, RoundResult[]>();
      figures.set(key(series), bySize);
      bySize.set(size, [...(bySize.get(size) ?? []), result]);
    }
  }
  progress(total, total, 'done');
  const series: Series[] = [];
  for (const { series: info } of measurements) {
    const bySize = figures.get(key(info));
    if (!bySize || failed.has(key(info)) || series.some((s) => key(s) === key(info))) continue;
    series.push({
      ...info,
      points: [...bySize].map(([size, results]) => {
        const p99s = results.flatMap((r) => (r.p99 === undefined ? [] : [r.p99]));
        return {
          size,
          rounds: results.map((r) => r.value),
          median: median(results.map((r) => r.value)),
          ...(p99s.length > 0 ? { p99: median(p99s) } : {}),
          operations: results.reduce((sum, r) => sum + r.operations, 0),
        };
      }),
    });
  }
  return { series, missing: [...failed.values()] };
}
