// The library inside worker_threads, on FABRIC_TRANSPORT at FABRIC_TEST_HOST, in every poll mode: workers
// terminated with connections open, with operations in flight, with regions registered, several at once and
// one after another, workers that end by themselves, and workers connected to this process's listener; with
// the main thread using the library throughout, and with only the workers having it (the addon is then
// unloaded when they end). Each case runs in a process of its own (test/fixtures/worker-host.ts), which must
// then still work.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PollMode } from '../src/index.js';
import type { WorkerScenario } from './fixtures/worker-body.js';
import { atLeast, HOST, usableTransports } from './helpers.js';

const run = promisify(execFile);
const modes: PollMode[] = ['event', 'spin', 'hybrid'];
type Case = {
  scenario: WorkerScenario;
  atOnce: number;
  rounds: number;
  mainThread: 'first' | 'after';
  what: string;
};
const cases: Case[] = [
  {
    scenario: 'open',
    atOnce: 1,
    rounds: 1,
    mainThread: 'first',
    what: 'a worker terminated with connections open',
  },
  {
    scenario: 'in-flight',
    atOnce: 1,
    rounds: 1,
    mainThread: 'first',
    what: 'a worker terminated with operations in flight',
  },
  {
    scenario: 'regions',
    atOnce: 1,
    rounds: 1,
    mainThread: 'first',
    what: 'a worker terminated with regions registered and used',
  },
  {
    scenario: 'clean',
    atOnce: 1,
    rounds: 1,
    mainThread: 'first',
    what: 'a worker that closes everything and ends by itself',
  },
  {
    scenario: 'cross',
    atOnce: 3,
    rounds: 1,
    mainThread: 'first',
    what: "three workers at once connected to this thread's listener",
  },
  {
    scenario: 'open',
    atOnce: 2,
    rounds: 3,
    mainThread: 'first',
    what: 'two workers at once, three rounds one after another',
  },
  // The main thread without the library: the addon is unloaded with the last worker that had it.
  {
    scenario: 'open',
    atOnce: 1,
    rounds: 1,
    mainThread: 'after',
    what: 'the only worker with the library terminated with connections open',
  },
  {
    scenario: 'in-flight',
    atOnce: 1,
    rounds: 1,
    mainThread: 'after',
    what: 'the only worker with the library terminated with operations in flight',
  },
  {
    scenario: 'regions',
    atOnce: 1,
    rounds: 1,
    mainThread: 'after',
    what: 'the only worker with the library terminated with regions registered',
  },
  {
    scenario: 'clean',
    atOnce: 1,
    rounds: 2,
    mainThread: 'after',
    what: 'the only worker with the library closing everything and ending, twice',
  },
];

for (const transport of usableTransports()) {
  describe(`worker_threads: ${transport} on ${HOST}`, () => {
    for (const mode of modes) {
      describe(`poll mode ${mode}`, () => {
        for (const { scenario, atOnce, rounds, mainThread, what } of cases) {
          it(`${what}; the process and its main thread carry on`, async function () {
            this.timeout(atLeast(this.timeout(), 30000));
            const args = [scenario, mode, transport, HOST, String(atOnce), String(rounds), mainThread];
            const child = await run(
              process.execPath,
              [join(__dirname, 'fixtures', 'worker-host.js'), ...args],
              {
                timeout: atLeast(this.timeout(), 30000) - 1000,
              },
            ).catch((error: { code?: number; signal?: string; stdout?: string; stderr?: string }) => {
              assert.fail(
                `the host process died (exit ${error.code ?? '-'}, signal ${error.signal ?? '-'}):\n${error.stdout}${error.stderr}`,
              );
            });
            const report = JSON.parse(child.stdout.trim().split('\n').pop() as string);
            assert.ok(report.ok, `after the workers: ${child.stdout}`);
          });
        }
      });
    }
  });
}
