import { withBench } from '../../bench/fabric-target.js';
import { interleaved, ourMeasurements } from '../../bench/plan.js';
import { runRounds } from '../../bench/rounds.js';
import { assembleResults } from '../../bench/run-results.js';
import { BENCH_MAX_MESSAGE, serveBench } from '../../bench/service.js';
import { listen } from '../index.js';
import type { TransportChoice } from '../options.js';
import { Flags, UsageError } from './arguments.js';
import {
  MEASUREMENT_SWITCHES,
  MEASUREMENT_USAGE,
  MEASUREMENT_VALUED,
  measureSettings,
  progressOf,
  reportResults,
} from './measurement-flags.js';

/** perftest uses 18515; the next port, so that both can run on one host. */
export const PINGPONG_PORT = 18516;

export const PINGPONG_USAGE = `usage: fabric-transport pingpong --listen [--host ADDR] [--port PORT] [--transport T]
       fabric-transport pingpong --connect HOST[:PORT] [--transport T] [measurement options]

A latency and bandwidth test between two hosts, in the style of perftest's ib_send_lat and ib_write_bw:
start the server on one host, the client on the other. The server serves clients until it is stopped.

  --listen          serve on ADDR (default 0.0.0.0) and PORT (default ${PINGPONG_PORT}; 0 picks a free one)
  --connect HOST[:PORT]
                    measure against the server there (default port ${PINGPONG_PORT})
  --transport T     auto, tcp, roce or ib (default: FABRIC_TRANSPORT, else auto); the same on both sides
${MEASUREMENT_USAGE}
The client measures latency and write by default (--pattern changes that), 1 round.
`;

const TRANSPORTS: readonly TransportChoice[] = ['auto', 'tcp', 'roce', 'ib'];

function transportOf(flags: Flags): TransportChoice | undefined {
  const [transport, ...more] = flags.choices('--transport', TRANSPORTS) ?? [];
  if (more.length > 0) throw new UsageError('--transport takes one transport here');
  return transport;
}

/** HOST, HOST:PORT or [IPv6]:PORT. */
function hostAndPort(text: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const host = match ? (match[1] as string) : text;
  const port = match?.[2] === undefined ? PINGPONG_PORT : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--connect: bad port in ${text}`);
  return { host, port };
}

async function serve(flags: Flags): Promise<void> {
  const transport = transportOf(flags);
  const listener = await listen({
    host: flags.text('--host') ?? '0.0.0.0',
    port: flags.number('--port', 0, 65535) ?? PINGPONG_PORT,
    maxMessageSize: BENCH_MAX_MESSAGE,
    ...(transport ? { transport } : {}),
  });
  process.stdout.write(`pingpong: listening on ${listener.host}:${listener.port}; stop with Ctrl-C\n`);
  const stop = () => void listener.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await serveBench(listener, (error) =>
    process.stderr.write(`pingpong: a client failed: ${String(error)}\n`),
  );
}

async function measure(flags: Flags, peer: string): Promise<void> {
  const started = new Date();
  const { host, port } = hostAndPort(peer);
  const transport =
    transportOf(flags) ?? (process.env.FABRIC_TRANSPORT as TransportChoice | undefined) ?? 'auto';
  const settings = measureSettings(flags, 1);
  if (!flags.has('--pattern')) settings.patterns = ['latency', 'write'];
  const target = { host, port, transport, maxMessageSize: BENCH_MAX_MESSAGE };
  // One connection first: it proves the server answers and tells which transport 'auto' chose.
  const used = await withBench(target, { mode: 'echo' }, async (connection) => connection.transport);
  const run = await runRounds(
    interleaved(ourMeasurements(used, { ...target, transport: used }, settings)),
    settings.rounds,
    progressOf(flags),
  );
  reportResults(
    assembleResults(started, settings, [{ transport: used, host }], run.series, run.missing),
    flags,
    flags.text('--out'),
  );
}

export async function pingpongCommand(args: string[]): Promise<void> {
  const flags = Flags.parse(
    args,
    [...MEASUREMENT_VALUED, '--connect', '--host', '--port', '--transport'],
    [...MEASUREMENT_SWITCHES, '--listen'],
  );
  const peer = flags.text('--connect');
  if (flags.has('--listen') === (peer !== undefined))
    throw new UsageError('pingpong needs --listen or --connect HOST[:PORT]');
  if (peer !== undefined) return measure(flags, peer);
  return serve(flags);
}
