// Load: one server process, LOAD_CONNECTIONS (default 1,000) concurrent connections from several client
// processes, each doing ping-pongs and 1 MiB one-sided writes for LOAD_SECONDS: no message lost or
// reordered, no data corrupted, and the server's memory bounded (its regions, plus a bound per connection).
import * as assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { usableTransports } from './helpers.js';

const PEER = join(__dirname, 'fixtures', 'load-peer.js');
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 1000);
const CLIENT_PROCESSES = 4;
const SECONDS = Number(process.env.LOAD_SECONDS ?? 6);
const REGION_BYTES = 1 << 20;
/** What the server may hold per connection beyond its region: buffers, socket and bookkeeping. */
const OVERHEAD_PER_CONNECTION = 256 << 10;
/** What a transport holds per connection beyond that: shm's two rings of 1 MiB (FABRIC_SHM_RING), in memory shared with the client. */
const TRANSPORT_MEMORY: Record<string, number> = { shm: 2 << 20 };

/** The first JSON line `child` prints. */
async function firstResult(child: ChildProcess): Promise<Record<string, number & string[]>> {
  let output = '';
  for await (const chunk of child.stdout as NodeJS.ReadableStream) {
    output += chunk.toString();
    const line = output.indexOf('\n');
    if (line >= 0) return JSON.parse(output.slice(0, line));
  }
  throw new Error(`the load peer exited without a result (${child.exitCode})`);
}

/** The peak resident set of a process, in bytes (VmHWM). */
function peakResident(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

for (const transport of usableTransports()) {
  describe(`load: ${CONNECTIONS} connections over ${transport} from ${CLIENT_PROCESSES} processes for ${SECONDS} s`, function () {
    this.timeout(120_000 + SECONDS * 1000);
    const env = { ...process.env, FABRIC_TRANSPORT: transport };

    it('loses, reorders and corrupts nothing, and the server memory stays bounded', async () => {
      const server = fork(PEER, ['server'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env });
      const clients: ChildProcess[] = [];
      try {
        const { port } = await firstResult(server);
        const baseline = peakResident(server.pid as number);
        for (let i = 0; i < CLIENT_PROCESSES; i++) {
          const share =
            Math.floor(CONNECTIONS / CLIENT_PROCESSES) + (i < CONNECTIONS % CLIENT_PROCESSES ? 1 : 0);
          const client = fork(PEER, ['client', String(port), String(share), String(SECONDS)], {
            stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
            env,
          });
          clients.push(client);
        }
        // Each says when its connections are up; one that dies first fails the test instead of hanging it.
        await Promise.all(
          clients.map((client) =>
            Promise.race([
              once(client, 'message'),
              once(client, 'exit').then(([code]) => {
                throw new Error(`a load client exited (${code}) before its connections were up`);
              }),
            ]),
          ),
        );
        for (const client of clients) client.send('go');
        const results = await Promise.all(clients.map(firstResult));
        await Promise.all(clients.map((client) => client.exitCode ?? once(client, 'exit')));
        const total = (key: string) => results.reduce((sum, result) => sum + (result[key] as number), 0);
        const errors = results.flatMap((result) => result.errors as string[]);
        assert.deepEqual(errors, []);
        assert.equal(total('connections'), CONNECTIONS, 'every connection held to the end');
        assert.ok(
          total('pingPongs') >= CONNECTIONS && total('writes') >= CONNECTIONS,
          'every connection worked',
        );
        const peak = peakResident(server.pid as number);
        const perConnection = REGION_BYTES + OVERHEAD_PER_CONNECTION + (TRANSPORT_MEMORY[transport] ?? 0);
        const bound = baseline + CONNECTIONS * perConnection;
        assert.ok(peak <= bound, `server peak resident set ${peak} above ${bound}`);
        const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
        console.log(
          `      ${total('connections')} connections held; ${total('pingPongs')} ping-pongs and ${total('writes')} ` +
            `1 MiB writes completed, ${mib(total('bytesVerified'))} verified by SHA-256; server peak resident set ` +
            `${mib(peak)} (${mib(CONNECTIONS * REGION_BYTES)} of it regions, ${mib(baseline)} at start)`,
        );
      } finally {
        for (const child of [server, ...clients]) child.kill('SIGKILL');
      }
    });
  });
}
