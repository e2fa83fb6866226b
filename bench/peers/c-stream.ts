// The C stream (bench/c/stream.c): one TCP stream whose receiver lands every block of `size` bytes in `size`
// bytes of its own memory, as a one-sided write does; iperf3 reuses one buffer of at most 1 MiB.
import type { Budget, RoundResult } from '../budget.js';
import { cBandwidth } from './c-program.js';

/** GB/s of one stream of `size`-byte blocks, each received into its own `size` bytes, on `host`. */
export function cStream(host: string, size: number, budget: Budget): Promise<RoundResult> {
  return cBandwidth('stream', [host], size, budget);
}
