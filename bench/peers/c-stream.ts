// The suite's own C peer (bench/c/stream.c): one TCP stream whose receiver lands every block of `size` bytes
// in `size` bytes of its own memory, as a one-sided write does; iperf3 reuses one buffer of at most 1 MiB.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Budget, RoundResult } from '../budget.js';
import { resultRow, type ToolInfo } from './tool.js';

const execFileAsync = promisify(execFile);

/** The C compiler that builds the program, once per run. */
export const C_COMPILER: ToolInfo = { command: 'cc', debianPackage: 'gcc' };

/** From dist/bench/peers (or out/bench/peers) to the source, in the repository and in the npm package. */
const SOURCE = join(__dirname, '..', '..', '..', 'bench', 'c', 'stream.c');

let built: Promise<string> | undefined;

function program(): Promise<string> {
  built ??= (async () => {
    const directory = mkdtempSync(join(tmpdir(), 'fabric-bench-stream-'));
    process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
    const binary = join(directory, 'stream');
    await execFileAsync(C_COMPILER.command, ['-O2', '-o', binary, SOURCE], { timeout: 60_000 });
    return binary;
  })();
  return built;
}

/** GB/s of one stream of `size`-byte blocks, each received into its own `size` bytes, on `host`. */
export async function cStream(host: string, size: number, budget: Budget): Promise<RoundResult> {
  const seconds = Math.max(0.05, budget.seconds);
  const { stdout } = await execFileAsync(await program(), [host, String(size), String(seconds)], {
    timeout: (seconds + 30) * 1000,
  });
  const [gigabytesPerSecond = 0, , bytes = 0] = resultRow(stdout, 'C stream', / GB\/s, \d+ bytes$/, /[ ,]+/);
  return { value: gigabytesPerSecond, operations: Math.round(bytes / size) };
}
