// How long each measurement runs: a warm-up, then a duration or an exact number of operations; deadlines.
import { FabricError } from '../src/index.js';

export interface Budget {
  /** Seconds of timed operations (at least MIN_OPERATIONS of them), unless `iterations` is set. */
  seconds: number;
  /** Exactly this many timed operations. */
  iterations?: number;
  /**
   * Seconds one operation of ours took at this size, just before: C tools run a fixed number of operations,
   * and this sizes that number so that they run about `seconds` too.
   */
  pace?: number;
}

/** Even a slow operation (a 256 MiB tensor) is timed this many times per round. */
const MIN_OPERATIONS = 3;

/** What one round of a measurement yields, in its pattern's unit. */
export interface RoundResult {
  value: number;
  p99?: number;
  operations: number;
}

/** The warm-up before a timed run: a tenth of its budget, at least one operation. */
function warmUp(budget: Budget): Budget {
  return budget.iterations === undefined
    ? { seconds: budget.seconds / 10 }
    : { seconds: 0, iterations: Math.max(1, Math.ceil(budget.iterations / 10)) };
}

/**
 * Runs `operation` from `inFlight` concurrent workers, first to warm up, then within `budget`; returns how
 * many operations completed and how long the timed part took (ms), with each operation's own time when
 * `inFlight` is 1. `settle` (timed) waits until the operations' effect is complete at the peer.
 */
export async function repeat(
  budget: Budget,
  inFlight: number,
  operation: () => Promise<void>,
  settle: () => Promise<void> = async () => {},
): Promise<{ operations: number; elapsedMs: number; samplesMs: number[] }> {
  const run = async (limits: Budget) => {
    const samplesMs: number[] = [];
    let issued = 0;
    const started = performance.now();
    const more = () =>
      limits.iterations === undefined
        ? issued < MIN_OPERATIONS || performance.now() - started < limits.seconds * 1000
        : issued < limits.iterations;
    const worker = async () => {
      while (more()) {
        issued++;
        const begun = performance.now();
        await operation();
        if (inFlight === 1) samplesMs.push(performance.now() - begun);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    await settle();
    return { operations: issued, elapsedMs: performance.now() - started, samplesMs };
  };
  await run(warmUp(budget));
  return run(budget);
}

/** How long one measurement may take before the run gives up on it (only a stuck peer takes that long). */
export function deadlineMs(budget: Budget): number {
  return 300_000 + 10_000 * budget.seconds;
}

/** `work`, or ETIMEDOUT after `ms`: a server that stops answering must not hang the run. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FabricError('ETIMEDOUT', `${what} took over ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
