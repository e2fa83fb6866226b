// How long each measurement runs: a warm-up, then a duration or an exact number of operations; deadlines.
import { FabricError } from '../src/index.js';

export interface Budget {
  /** Seconds of timed operations (at least MIN_OPERATIONS of them), unless `iterations` is set. */
  seconds: number;
  /** Exactly this many timed operations. */
  iterations?: number;
  /**
   * Seconds one operation of ours took at this size, just before. C tools run a fixed number of operations:
   * this sizes it to about as many as ours did within `seconds` (a faster tool finishes sooner).
   */
  pace?: number;
}

/** Even a slow operation (a 256 MiB tensor) is timed this many times per round. */
const MIN_OPERATIONS = 3;
/** Warm-up operations at the least (within the budget's time): enough for V8 to compile the hot path. */
const WARM_UP_OPERATIONS = 50;

/** What one round of a measurement yields, in its pattern's unit. */
export interface RoundResult {
  value: number;
  p99?: number;
  operations: number;
}

/** A run goes on while it has done fewer than `operations` or spent less than `seconds`, up to `capSeconds`. */
interface Limits {
  operations: number;
  seconds: number;
  capSeconds: number;
}

/** The warm-up: a tenth of the budget and WARM_UP_OPERATIONS, no longer than the budget itself. */
function warmUp(budget: Budget): Limits {
  return budget.iterations === undefined
    ? { operations: WARM_UP_OPERATIONS, seconds: budget.seconds / 10, capSeconds: budget.seconds }
    : { operations: Math.ceil(budget.iterations / 10), seconds: 0, capSeconds: Number.POSITIVE_INFINITY };
}

function timed(budget: Budget): Limits {
  return budget.iterations === undefined
    ? { operations: MIN_OPERATIONS, seconds: budget.seconds, capSeconds: Number.POSITIVE_INFINITY }
    : { operations: budget.iterations, seconds: 0, capSeconds: Number.POSITIVE_INFINITY };
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
  const run = async (limits: Limits) => {
    const samplesMs: number[] = [];
    let issued = 0;
    const started = performance.now();
    const more = () => {
      const seconds = (performance.now() - started) / 1000;
      if (issued > 0 && seconds >= limits.capSeconds) return false;
      return issued < limits.operations || seconds < limits.seconds;
    };
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
  return run(timed(budget));
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
