// Running the C tools we compare with: is one installed, a free port for it, its server and client.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { promisify } from 'node:util';
import type { Budget } from '../budget.js';

const execFileAsync = promisify(execFile);

/** A peer tool and the Debian package that provides it. */
export interface ToolInfo {
  command: string;
  debianPackage: string;
}

/** Whether `command` can be run at all (any exit status counts: only a missing program does not). */
export async function installed(command: string): Promise<boolean> {
  try {
    await execFileAsync(command, ['--help'], { timeout: 10_000 });
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ENOENT';
  }
}

/** A TCP port nobody listens on right now, for a tool's side channel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Whether a socket listens on TCP `port`: /proc/net/tcp* list listening sockets (state 0A) by hex port. */
function listening(port: number): boolean {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((table) => {
    try {
      return readFileSync(table, 'utf8')
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .some((fields) => fields[1]?.endsWith(suffix) && fields[3] === '0A');
    } catch {
      return false;
    }
  });
}

/** Tool servers running now: a run that is stopped takes them down with it. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill();
});

export interface ToolRun {
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** What in the client's output (stdout or stderr) says it ran without what was asked: the run fails. */
  refuse?: RegExp;
}

/**
 * Starts a tool's server, waits until it listens on `port`, runs its client to the end and returns the
 * client's output; the server is killed whatever happens. Both time out after `timeoutMs`.
 */
export async function runServerAndClient(
  command: string,
  port: number,
  server: ToolRun,
  client: ToolRun,
  timeoutMs: number,
): Promise<string> {
  const child = spawn(command, server.args, { stdio: 'ignore', env: { ...process.env, ...server.env } });
  running.add(child);
  let failure: Error | undefined;
  const ended = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      failure = error;
      resolve();
    });
    child.once('close', () => resolve());
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while (!listening(port)) {
      if (failure) throw failure;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${command} ${server.args.join(' ')}: the server did not start listening`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { stdout, stderr } = await execFileAsync(command, client.args, {
      env: { ...process.env, ...client.env },
      timeout: Math.max(1000, deadline - Date.now()),
    });
    const refused = client.refuse?.exec(`${stdout}\n${stderr}`);
    if (refused) throw new Error(`${command}: ${refused[0]}`);
    return stdout;
  } finally {
    child.kill();
    await ended;
    running.delete(child);
  }
}

/** A C tool's result row: the last line of its output that `row` matches, as numbers. */
export function resultRow(output: string, tool: string, row: RegExp, separator: RegExp | string): number[] {
  const line = output
    .split('\n')
    .map((text) => text.trim())
    .reverse()
    .find((text) => row.test(text));
  if (!line) throw new Error(`${tool}: no result row in its output:\n${output}`);
  return line.split(separator).map(Number);
}

/** How many operations a C tool runs: --iterations, else enough to last about the budget at `pace`. */
export function toolIterations(budget: Budget, minimum: number): number {
  if (budget.iterations !== undefined) return budget.iterations;
  const pace = budget.pace ?? 1e-4;
  return Math.min(100_000, Math.max(minimum, Math.ceil(budget.seconds / pace)));
}
