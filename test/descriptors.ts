// File descriptors this process holds, for tests that check connections, workers and regions give theirs
// back. Imports nothing of the library: a process may count before it loads the addon.
import { readdirSync } from 'node:fs';

export function openDescriptors(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Resolves with the descriptors open once they are back to `baseline`, or after `deadlineMs`. */
export async function descriptorsBackTo(baseline: number, deadlineMs: number): Promise<number> {
  const end = Date.now() + deadlineMs;
  let descriptors = openDescriptors();
  while (descriptors > baseline && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    descriptors = openDescriptors();
  }
  return descriptors;
}
