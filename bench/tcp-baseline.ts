// TCP against its peers, two processes on loopback, in one run:
//   - 8-byte round trip: fabric-transport messages vs raw node:net ping-pong
//   - 16 MiB one-sided write bandwidth vs a raw node:net stream and iperf3 (single stream), when installed
// Rounds alternate between the contenders so that drift on a noisy machine hits them alike; medians reported.
//   node out/bench/tcp-baseline.js [--rounds N] [--json]
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { type Connection, connect, listen, register } from '../src/index.js';

const HOST = '127.0.0.1';
const PING_BYTES = 8;
const ROUND_TRIPS = 20000;
const BULK_BYTES = 16 << 20;
const BULK_SECONDS = 3;

type ServerKind = 'raw-echo' | 'raw-sink' | 'fabric';

// ---- servers (child process) --------------------------------------------------------------------------------

async function serve(kind: ServerKind): Promise<void> {
  if (kind === 'fabric') {
    const listener = await listen({ host: HOST, port: 0, transport: 'tcp' });
    process.send?.(listener.port);
    const target = register(new Uint8Array(BULK_BYTES));
    for await (const connection of listener) {
      void (async () => {
        await connection.send(target.descriptor);
        for await (const message of connection) await connection.send(message);
      })().catch(() => {});
    }
    return;
  }
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

async function fabricRoundTrip(connection: Connection): Promise<number> {
  const ping = new Uint8Array(PING_BYTES);
  for (let i = 0; i < 1000; i++) {
    await connection.send(ping);
    await connection.receive();
  }
  const started = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    await connection.send(ping);
    await connection.receive();
  }
  return ((performance.now() - started) * 1000) / ROUND_TRIPS;
}

/** GB/s of back-to-back 16 MiB one-sided writes, one in flight, for BULK_SECONDS. */
async function fabricWriteBandwidth(connection: Connection, descriptor: Uint8Array): Promise<number> {
  const source = register(new Uint8Array(BULK_BYTES).fill(7));
  await connection.write(source, descriptor);
  let bytes = 0;
  const started = performance.now();
  while (performance.now() - started < BULK_SECONDS * 1000) {
    await connection.write(source, descriptor);
    bytes += BULK_BYTES;
  }
  return bytes / ((performance.now() - started) * 1e6);
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function spread(values: number[]): string {
  return `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
}

async function main(): Promise<void> {
  const roundsFlag = process.argv.indexOf('--rounds');
  const rounds = roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : 5;
  const servers = await Promise.all((['raw-echo', 'raw-sink', 'fabric'] as const).map(startServer));
  const [rawEcho, rawSink, fabric] = servers as [
    (typeof servers)[0],
    (typeof servers)[0],
    (typeof servers)[0],
  ];
  const connection = await connect({ host: HOST, port: fabric.port, transport: 'tcp' });
  const descriptor = await connection.receive();

  const results: Record<string, number[]> = {
    raw: [],
    fabric: [],
    rawStream: [],
    fabricWrite: [],
    iperf3: [],
  };
  for (let round = 0; round < rounds; round++) {
    results.raw?.push(await rawRoundTrip(rawEcho.port));
    results.fabric?.push(await fabricRoundTrip(connection));
    results.rawStream?.push(await rawStreamBandwidth(rawSink.port));
    results.fabricWrite?.push(await fabricWriteBandwidth(connection, descriptor));
    const iperf = await iperf3Bandwidth();
    if (iperf !== undefined) results.iperf3?.push(iperf);
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  await connection.close();
  for (const server of servers) server.child.kill();

  const m = (name: string) => median(results[name] as number[]);
  const row = (measure: string, ours: string, peer: string, peerName: string) =>
    [
      measure,
      'fabric-transport tcp',
      m(ours),
      spread(results[ours] as number[]),
      peer,
      m(peerName),
      m(ours) / m(peerName),
    ] as const;
  const bandwidth = '16 MiB one-sided write, GB/s (higher is better)';
  const rows = [
    row('8 B round trip, µs (lower is better)', 'fabric', 'raw node:net', 'raw'),
    row(bandwidth, 'fabricWrite', 'raw node:net stream', 'rawStream'),
  ];
  if ((results.iperf3 as number[]).length > 0)
    rows.push(row(bandwidth, 'fabricWrite', 'iperf3 single stream', 'iperf3'));
  else console.log('iperf3: missing (Debian package: iperf3), not compared');
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ node: process.version, rounds, results }, null, 2));
    return;
  }
  console.log(
    `\n${rounds} rounds, medians (spread min–max); ${ROUND_TRIPS} round trips and ${BULK_SECONDS} s of bulk per round`,
  );
  console.log('| measure | ours | median | spread | peer | peer median | ratio ours/peer |');
  console.log('|---|---|---:|---|---|---:|---:|');
  for (const [measure, ours, value, range, peer, peerValue, ratio] of rows) {
    console.log(
      `| ${measure} | ${ours} | ${(value as number).toFixed(2)} | ${range} | ${peer} | ${(peerValue as number).toFixed(2)} | ${(ratio as number).toFixed(2)} |`,
    );
  }
}

if (process.argv[2] === 'serve') {
  serve(process.argv[3] as ServerKind).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
