// TCP against its peers, two processes on loopback, in one run:
//   - 8-byte round trip: fabric-transport messages vs raw node:net ping-pong
//   - 16 MiB one-sided write bandwidth vs a raw node:net stream and iperf3 (single stream), when installed
// Rounds alternate between the contenders so that drift on a noisy machine hits them alike; medians reported.
//   node out/bench/tcp-baseline.js [--rounds N] [--json]
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { promisify } from 'node:util';
import {
  type Comparison,
  fabricRoundTrip,
  fabricWriteBandwidth,
  printTable,
  runBaseline,
  serveFabric,
  startFabricServer,
} from './fabric-measures.js';

const HOST = '127.0.0.1';
const PING_BYTES = 8;
const ROUND_TRIPS = 20000;
const BULK_BYTES = 16 << 20;
const BULK_SECONDS = 3;

type ServerKind = 'raw-echo' | 'raw-sink' | 'fabric';

// ---- servers (child process) --------------------------------------------------------------------------------

async function serve(kind: ServerKind): Promise<void> {
  if (kind === 'fabric') return serveFabric(HOST, 'tcp', BULK_BYTES);
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {});
    if (kind === 'raw-echo') socket.on('data', (chunk) => socket.write(chunk));
    else socket.resume();
  });
  server.listen(0, HOST, () => process.send?.((server.address() as net.AddressInfo).port));
}

async function startServer(kind: ServerKind): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(__filename, ['serve', kind], { stdio: 'inherit' });
  const [port] = (await once(child, 'message')) as [number];
  return { port, child };
}

// ---- clients ------------------------------------------------------------------------------------------------

async function rawRoundTrip(port: number): Promise<number> {
  const socket = net.connect({ host: HOST, port, noDelay: true });
  await once(socket, 'connect');
  const ping = Buffer.alloc(PING_BYTES);
  let pending = 0;
  let wake: () => void = () => {};
  socket.on('data', (chunk) => {
    pending -= chunk.length;
    if (pending <= 0) wake();
  });
  const once8 = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
      pending += PING_BYTES;
      socket.write(ping);
    });
  for (let i = 0; i < 1000; i++) await once8();
  const started = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) await once8();
  const micros = ((performance.now() - started) * 1000) / ROUND_TRIPS;
  socket.destroy();
  return micros;
}

/** GB/s of a raw node:net stream of 16 MiB writes into a sink that discards. */
async function rawStreamBandwidth(port: number): Promise<number> {
  const socket = net.connect({ host: HOST, port, noDelay: true });
  await once(socket, 'connect');
  const chunk = Buffer.alloc(BULK_BYTES, 7);
  let bytes = 0;
  const started = performance.now();
  while (performance.now() - started < BULK_SECONDS * 1000) {
    await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
    bytes += BULK_BYTES;
  }
  socket.destroy();
  return bytes / ((performance.now() - started) * 1e6);
}

/** GB/s of iperf3's single stream over loopback, or undefined when iperf3 is not installed. */
async function iperf3Bandwidth(): Promise<number | undefined> {
  const run = promisify(execFile);
  try {
    await run('iperf3', ['--version']);
  } catch {
    return undefined;
  }
  const port = 5201 + Math.floor(Math.random() * 1000);
  const server = execFile('iperf3', ['-s', '-1', '-B', HOST, '-p', String(port)]);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const { stdout } = await run('iperf3', [
          '-c',
          HOST,
          '-p',
          String(port),
          '-t',
          String(BULK_SECONDS),
          '-J',
        ]);
        return JSON.parse(stdout).end.sum_received.bits_per_second / 8e9;
      } catch (error) {
        if (attempt > 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    server.kill();
  }
}

// ---- the run ------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const roundsFlag = process.argv.indexOf('--rounds');
  const rounds = roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : 5;
  const raw = await Promise.all((['raw-echo', 'raw-sink'] as const).map(startServer));
  const fabric = await startFabricServer(__filename, ['serve', 'fabric'], HOST, 'tcp');
  const { connection, descriptor } = fabric;

  const results: Record<string, number[]> = {
    raw: [],
    fabric: [],
    rawStream: [],
    fabricWrite: [],
    iperf3: [],
  };
  for (let round = 0; round < rounds; round++) {
    results.raw?.push(await rawRoundTrip((raw[0] as { port: number }).port));
    results.fabric?.push(await fabricRoundTrip(connection, PING_BYTES, ROUND_TRIPS));
    results.rawStream?.push(await rawStreamBandwidth((raw[1] as { port: number }).port));
    results.fabricWrite?.push(await fabricWriteBandwidth(connection, descriptor, BULK_BYTES, BULK_SECONDS));
    const iperf = await iperf3Bandwidth();
    if (iperf !== undefined) results.iperf3?.push(iperf);
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  await connection.close();
  for (const child of [...raw.map((server) => server.child), fabric.child]) child.kill();

  const bandwidth = '16 MiB one-sided write, GB/s (higher is better)';
  const ours = 'fabric-transport tcp';
  const comparisons: Comparison[] = [
    {
      measure: '8 B round trip, µs (lower is better)',
      ours,
      oursRounds: results.fabric as number[],
      peer: 'raw node:net',
      peerRounds: results.raw as number[],
    },
    {
      measure: bandwidth,
      ours,
      oursRounds: results.fabricWrite as number[],
      peer: 'raw node:net stream',
      peerRounds: results.rawStream as number[],
    },
  ];
  if ((results.iperf3 as number[]).length > 0) {
    comparisons.push({
      measure: bandwidth,
      ours,
      oursRounds: results.fabricWrite as number[],
      peer: 'iperf3 single stream',
      peerRounds: results.iperf3 as number[],
    });
  } else {
    console.log('iperf3: missing (Debian package: iperf3), not compared');
  }
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ node: process.version, rounds, results }, null, 2));
    return;
  }
  console.log(
    `\n${rounds} rounds, medians (spread min–max); ${ROUND_TRIPS} round trips and ${BULK_SECONDS} s of bulk per round`,
  );
  printTable(comparisons);
}

runBaseline(main, (args) => serve(args[0] as ServerKind));
