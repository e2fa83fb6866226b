// What a chaos process says about itself when stopped: its counts, and its descriptors and resident set
// against the baselines it took before any traffic and once warm (the heap, JIT code and allocator arenas a
// busy process keeps are no leak; what grows beyond them is).
import { openDescriptors } from '../descriptors.js';
import type { Counts } from './counts.js';

export interface ProcessReport {
  type: 'report';
  role: string;
  counts: Counts;
  /** Counts of workers the driver terminated: their promises died with them; their bytes still count. */
  terminated?: Counts;
  /** Before any traffic, and (when the driver asked for it) once traffic had warmed the process up. */
  baseline: Usage;
  warm?: Usage;
  after: Usage;
}

export interface Usage {
  descriptors: number;
  residentMiB: number;
}

/** Descriptors and resident set now, after a full garbage collection where --expose-gc allows one. */
export async function usage(): Promise<Usage> {
  const collect = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3 && collect; i++) {
    collect();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    descriptors: openDescriptors(),
    residentMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
}
