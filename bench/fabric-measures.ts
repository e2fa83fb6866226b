// What the baselines measure of fabric-transport itself, whatever the transport, and how they summarise it.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { type Connection, connect, listen, register, type TransportKind } from '../src/index.js';

/**
 * Serves in this process (a child started by `startFabricServer`): echoes messages, and first sends the
 * descriptor of a `bulkBytes` region that clients write into.
 */
export async function serveFabric(host: string, transport: TransportKind, bulkBytes: number): Promise<void> {
  const listener = await listen({ host, port: 0, transport });
  process.send?.(listener.port);
  const target = register(new Uint8Array(bulkBytes));
  for await (const connection of listener) {
    void (async () => {
      await connection.send(target.descriptor);
      for await (const message of connection) await connection.send(message);
    })().catch(() => {});
  }
}

/** Forks `script` with `args` (which must end up in serveFabric) and connects to it. */
export async function startFabricServer(
  script: string,
  args: string[],
  host: string,
  transport: TransportKind,
): Promise<{ child: ChildProcess; connection: Connection; descriptor: Uint8Array }> {
  const child = fork(script, args, { stdio: 'inherit' });
  const [port] = (await once(child, 'message')) as [number];
  const connection = await connect({ host, port, transport });
  const descriptor = await connection.receive();
  return { child, connection, descriptor };
}

/** Mean round trip in µs of `count` `bytes`-byte message ping-pongs, after a tenth as many to warm up. */
export async function fabricRoundTrip(connection: Connection, bytes: number, count: number): Promise<number> {
  const ping = new Uint8Array(bytes);
  for (let i = 0; i < count / 10; i++) {
    await connection.send(ping);
    await connection.receive();
  }
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    await connection.send(ping);
    await connection.receive();
  }
  return ((performance.now() - started) * 1000) / count;
}

/** GB/s of back-to-back one-sided writes of `bytes`, one in flight, for `seconds`. */
export async function fabricWriteBandwidth(
  connection: Connection,
  descriptor: Uint8Array,
  bytes: number,
  seconds: number,
): Promise<number> {
  const source = register(new Uint8Array(bytes).fill(7));
  await connection.write(source, descriptor);
  let moved = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await connection.write(source, descriptor);
    moved += bytes;
  }
  source.deregister();
  return moved / ((performance.now() - started) * 1e6);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Three significant digits: as precise as these machines allow, for µs and GB/s alike. */
export function figure(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

export function spread(values: number[]): string {
  return `${figure(Math.min(...values))}–${figure(Math.max(...values))}`;
}

/** One comparison: our figure and a peer's, as medians of the rounds, and their ratio. */
export interface Comparison {
  measure: string;
  ours: string;
  oursRounds: number[];
  peer: string;
  peerRounds: number[];
}

/** Prints comparisons as a markdown table. */
export function printTable(comparisons: Comparison[]): void {
  console.log('| measure | ours | median | spread | peer | peer median | ratio ours/peer |');
  console.log('|---|---|---:|---|---|---:|---:|');
  for (const c of comparisons) {
    const ours = median(c.oursRounds);
    const peer = median(c.peerRounds);
    console.log(
      `| ${c.measure} | ${c.ours} | ${figure(ours)} | ${spread(c.oursRounds)} | ${c.peer} | ${figure(peer)} | ${(ours / peer).toFixed(2)} |`,
    );
  }
}

/** Runs `serve` in the child a baseline forks (argv[2] === 'serve'), else `main`; a failure exits with 1. */
export function runBaseline(main: () => Promise<void>, serve: (args: string[]) => Promise<void>): void {
  const [mode, ...args] = process.argv.slice(2);
  (mode === 'serve' ? serve(args) : main()).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
