// The flags `bench` and `pingpong` share: what to measure, how long, and where the results go.
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type MeasureSettings, OUR_PATTERNS } from '../../bench/plan.js';
import { chartSvg } from '../../bench/report/chart.js';
import { progressReporter } from '../../bench/report/progress.js';
import { formatTables } from '../../bench/report/table.js';
import type { BenchResults } from '../../bench/results.js';
import type { Progress } from '../../bench/rounds.js';
import { BENCH_MAX_REGION } from '../../bench/service.js';
import { FabricError } from '../api/errors.js';
import { type FlagsOf, optionSpecs, UsageError } from './arguments.js';

export const MEASUREMENT_OPTIONS = optionSpecs(
  ['pattern', 'sizes', 'iterations', 'duration', 'rounds', 'inflight', 'out'],
  ['json', 'quiet'],
);
/** The flags of a command that measures. */
export type MeasurementFlags = FlagsOf<typeof MEASUREMENT_OPTIONS>;

export const MEASUREMENT_USAGE = `  --pattern LIST    latency, write, read, messages, registration, reregistration, tensor,
                    forwarding, mlp (default: all)
  --sizes LIST      bytes per operation, e.g. 8,4K,16M (default: each pattern's own, see docs/BENCHMARKS.md)
  --duration S      seconds of timed operations per measurement and round (default 0.4)
  --iterations N    exactly N timed operations per measurement and round, instead of --duration
  --rounds N        repeat every measurement N times, contenders alternating; medians reported (default 3)
  --inflight N      operations in flight in the bandwidth patterns (default 4)
  --json            print the results as JSON instead of tables
  --out DIR         write results.json, chart.svg and table.md into DIR
  --quiet           no progress on stderr`;

export function measureSettings(
  flags: MeasurementFlags,
  defaultRounds: number,
): MeasureSettings & { rounds: number } {
  const iterations = flags.number('iterations', 1, 10_000_000);
  if (iterations !== undefined && flags.has('duration')) {
    throw new UsageError('--duration and --iterations exclude each other: give one');
  }
  const sizes = flags.sizes('sizes', BENCH_MAX_REGION);
  return {
    patterns: flags.choices('pattern', OUR_PATTERNS) ?? OUR_PATTERNS,
    ...(sizes ? { sizes } : {}),
    budget: {
      seconds: flags.number('duration', 0.01, 3600, true) ?? 0.4,
      ...(iterations === undefined ? {} : { iterations }),
    },
    inFlight: flags.number('inflight', 1, 1024) ?? 4,
    rounds: flags.number('rounds', 1, 1000) ?? defaultRounds,
  };
}

export function progressOf(flags: MeasurementFlags): Progress {
  return progressReporter(process.stderr, flags.has('quiet'));
}

/** Makes sure results can be written to `dir` before minutes of measuring; returns it. */
export function prepareOut<T extends string | undefined>(dir: T): T {
  if (dir === undefined) return dir;
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new FabricError('EACCES', `--out ${dir}: cannot write there (${(error as Error).message})`);
  }
  return dir;
}

/** Prints the results (tables, or JSON with --json) and writes the files into `outDir`, if any. */
export function reportResults(
  results: BenchResults,
  flags: MeasurementFlags,
  outDir: string | undefined,
): void {
  const tables = formatTables(results);
  process.stdout.write(flags.has('json') ? `${JSON.stringify(results, null, 2)}\n` : `\n${tables}`);
  if (outDir === undefined) return;
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'chart.svg'), chartSvg(results));
  writeFileSync(join(outDir, 'table.md'), tables);
  if (!flags.has('json'))
    process.stdout.write(
      `\nwritten: ${['results.json', 'chart.svg', 'table.md'].map((f) => join(outDir, f)).join(', ')}\n`,
    );
}
