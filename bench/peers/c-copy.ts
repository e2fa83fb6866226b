// The C copy loops (bench/c/copy.c) beside the shared-memory transport: what one copy of `size` bytes costs
// with nothing around it, within a process (memcpy) and into another process (process_vm_writev).
import type { Budget, RoundResult } from '../budget.js';
import { cBandwidth } from './c-program.js';

/** How the copy crosses: memcpy within one process, process_vm_writev into a forked child's buffer. */
export type CopyMode = 'memcpy' | 'process_vm_writev';

/** GB/s of `size`-byte copies from one buffer to another, back to back, for the budget's seconds. */
export function cCopy(mode: CopyMode, size: number, budget: Budget): Promise<RoundResult> {
  return cBandwidth('copy', [mode], size, budget);
}
