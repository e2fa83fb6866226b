// The suite's own C peers (bench/c/*.c): each built once per run with the system's compiler, each printing
// its GB/s and the bytes it moved on its last line.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Budget, RoundResult } from '../budget.js';
import { resultRow, type ToolInfo } from './tool.js';

const execFileAsync = promisify(execFile);

/** The C compiler that builds the programs, once per run. */
export const C_COMPILER: ToolInfo = { command: 'cc', debianPackage: 'gcc' };

/** From dist/bench/peers (or out/bench/peers) to the sources, in the repository and in the npm package. */
const SOURCES = join(__dirname, '..', '..', '..', 'bench', 'c');

let directory: string | undefined;
const built = new Map<string, Promise<string>>();

/** bench/c/`name`.c, compiled (once per run) into a directory removed when the run ends. */
function program(name: string): Promise<string> {
  let binary = built.get(name);
  if (!binary) {
    if (!directory) {
      const made = mkdtempSync(join(tmpdir(), 'fabric-bench-c-'));
      process.once('exit', () => rmSync(made, { recursive: true, force: true }));
      directory = made;
    }
    const output = join(directory, name);
    binary = execFileAsync(C_COMPILER.command, ['-O2', '-o', output, join(SOURCES, `${name}.c`)], {
      timeout: 60_000,
    }).then(() => output);
    built.set(name, binary);
  }
  return binary;
}

/**
 * Runs bench/c/`name`.c with `args`, then `size` and the budget's seconds, and returns its GB/s, with the
 * operations as the bytes it moved over `size`.
 */
export async function cBandwidth(
  name: string,
  args: string[],
  size: number,
  budget: Budget,
): Promise<RoundResult> {
  const seconds = Math.max(0.05, budget.seconds);
  const { stdout } = await execFileAsync(await program(name), [...args, String(size), String(seconds)], {
    timeout: (seconds + 30) * 1000,
  });
  const [gigabytesPerSecond = 0, , bytes = 0] = resultRow(
    stdout,
    `bench/c/${name}.c`,
    / GB\/s, \d+ bytes$/,
    /[ ,]+/,
  );
  return { value: gigabytesPerSecond, operations: Math.round(bytes / size) };
}
