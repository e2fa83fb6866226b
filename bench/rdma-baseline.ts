// RoCE / InfiniBand against perftest on the same device, two processes each, in one run:
//   - 8-byte round trip: fabric-transport messages vs ib_send_lat (it prints half the round trip: doubled here)
//   - 16 MiB one-sided write bandwidth vs ib_write_bw
// Rounds alternate between the contenders; medians reported. Needs an RDMA device and its address:
//   FABRIC_TEST_HOST=10.0.0.1 FABRIC_TEST_DEVICE=rxe0 [FABRIC_TEST_GID_INDEX=1] \
//     node out/bench/rdma-baseline.js [--rounds N] [--transport roce|ib]
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { TransportKind } from '../src/index.js';
import {
  type Comparison,
  fabricRoundTrip,
  fabricWriteBandwidth,
  figure,
  printTable,
  runBaseline,
  serveFabric,
  startFabricServer,
} from './fabric-measures.js';

const PING_BYTES = 8;
const ROUND_TRIPS = 2000;
const BULK_BYTES = 16 << 20;
const BULK_SECONDS = 3;
/** perftest's side channel, which its client reaches over TCP on loopback. */
const PERFTEST_PORT = 18515;

const run = promisify(execFile);

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at > 0 ? (process.argv[at + 1] as string) : fallback;
}

/** Whether perftest's server listens yet: /proc/net/tcp* lists listening sockets (state 0A) by hex port. */
function perftestPortOpen(): boolean {
  const port = `:${PERFTEST_PORT.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((table) => {
    try {
      return readFileSync(table, 'utf8')
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .some((fields) => fields[1]?.endsWith(port) && fields[3] === '0A');
    } catch {
      return false;
    }
  });
}

/** Runs one perftest tool's server and client on `device` and returns the numbers of its result row. */
async function perftest(tool: string, device: string, gidIndex: string, args: string[]): Promise<number[]> {
  const common = ['-d', device, ...(gidIndex ? ['-x', gidIndex] : []), ...args];
  const server = spawn(tool, common, { stdio: 'ignore' });
  try {
    for (let i = 0; i < 150 && !perftestPortOpen(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const { stdout } = await run(tool, [...common, '127.0.0.1']);
    // The result row is the one that starts with the message size.
    const row = stdout.split('\n').find((line) => /^\s*\d+\s+\d+\s+[\d.]+/.test(line));
    if (!row) throw new Error(`no result row in ${tool}'s output:\n${stdout}`);
    return row.trim().split(/\s+/).map(Number);
  } finally {
    server.kill();
  }
}

async function perftestInstalled(): Promise<boolean> {
  try {
    await run('ib_send_lat', ['--help']);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ENOENT';
  }
}

async function main(): Promise<void> {
  const host = process.env.FABRIC_TEST_HOST;
  const device = process.env.FABRIC_TEST_DEVICE;
  if (!host || !device) {
    console.error('set FABRIC_TEST_HOST (the RDMA device address) and FABRIC_TEST_DEVICE (its name)');
    process.exit(2);
  }
  const gidIndex = process.env.FABRIC_TEST_GID_INDEX ?? '';
  const rounds = Number(flag('--rounds', '3'));
  const transport = flag('--transport', 'roce') as TransportKind;
  const withPerftest = await perftestInstalled();
  if (!withPerftest) console.log('perftest: missing (Debian package: perftest), not compared');
  const server = await startFabricServer(__filename, ['serve', host, transport], host, transport);
  // Our TCP transport between the same two addresses: how much of the round trip is this host's wake-ups.
  const tcp = await startFabricServer(__filename, ['serve', host, 'tcp'], host, 'tcp');
  const results: Record<string, number[]> = { rtt: [], tcpRtt: [], sendLat: [], write: [], writeBw: [] };
  for (let round = 0; round < rounds; round++) {
    results.rtt?.push(await fabricRoundTrip(server.connection, PING_BYTES, ROUND_TRIPS));
    results.tcpRtt?.push(await fabricRoundTrip(tcp.connection, PING_BYTES, ROUND_TRIPS));
    results.write?.push(
      await fabricWriteBandwidth(server.connection, server.descriptor, BULK_BYTES, BULK_SECONDS),
    );
    if (withPerftest) {
      // ib_send_lat: bytes, iterations, t_min, t_max, t_typical (half a round trip, µs), ...
      const latency = await perftest('ib_send_lat', device, gidIndex, [
        '-s',
        String(PING_BYTES),
        '-n',
        '1000',
      ]);
      results.sendLat?.push(2 * (latency[4] as number));
      // ib_write_bw --report_gbits: bytes, iterations, BW peak, BW average (Gbit/s), message rate
      const bandwidth = await perftest('ib_write_bw', device, gidIndex, [
        '-s',
        String(BULK_BYTES),
        '-n',
        '20',
        '--report_gbits',
      ]);
      results.writeBw?.push((bandwidth[3] as number) / 8);
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  for (const { connection, child } of [server, tcp]) {
    await connection.close();
    child.kill();
  }
  const ours = `fabric-transport ${transport}`;
  console.log(
    `\n${transport} on ${device} (${host}), ${rounds} rounds, medians (spread min–max); ${ROUND_TRIPS} round trips and ${BULK_SECONDS} s of writes per round`,
  );
  const comparisons: Comparison[] = [
    {
      measure: '8 B round trip, µs (lower is better)',
      ours,
      oursRounds: results.rtt as number[],
      peer: 'ib_send_lat (2 × t_typical)',
      peerRounds: results.sendLat as number[],
    },
    {
      measure: '8 B round trip, µs (lower is better)',
      ours,
      oursRounds: results.rtt as number[],
      peer: `fabric-transport tcp, same addresses`,
      peerRounds: results.tcpRtt as number[],
    },
    {
      measure: '16 MiB one-sided write, GB/s (higher is better)',
      ours,
      oursRounds: results.write as number[],
      peer: 'ib_write_bw (BW average)',
      peerRounds: results.writeBw as number[],
    },
  ];
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ node: process.version, transport, device, rounds, results }, null, 2));
  } else if (withPerftest) {
    printTable(comparisons);
  } else {
    for (const c of comparisons) console.log(`${c.measure}: ${c.oursRounds.map(figure).join(', ')}`);
  }
}

runBaseline(main, (args) => serveFabric(args[0] as string, args[1] as TransportKind, BULK_BYTES));
