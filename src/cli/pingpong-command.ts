import { deadlineMs } from '../../bench/budget.js';
import { withBench } from '../../bench/fabric-target.js';
import { interleaved, ourMeasurements } from '../../bench/plan.js';
import { runRounds } from '../../bench/rounds.js';
import { assembleResults } from '../../bench/run-results.js';
import { BENCH_MAX_MESSAGE, serveBench } from '../../bench/service.js';
import type { TransportChoice } from '../api/options.js';
import { transportChoices } from '../core/options.js';
import { listen } from '../index.js';
import { Flags, type FlagsOf, optionSpecs, UsageError } from './arguments.js';
import * as measurement from './measurement-flags.js';

/** perftest uses 18515; the next port, so that both can run on one host. */
export const PINGPONG_PORT = 18516;

export const PINGPONG_USAGE = `usage: fabric-transport pingpong --listen [--host ADDR] [--port PORT] [--transport T]
       fabric-transport pingpong --connect HOST[:PORT] [--transport T] [measurement options]

A latency and bandwidth test between two hosts, in the style of perftest's ib_send_lat and ib_write_bw:
start the server on one host, the client on the other. The server serves clients until it is stopped.

  --listen          serve on ADDR (default 0.0.0.0) and PORT (default ${PINGPONG_PORT}; 0 picks a free one)
  --connect HOST[:PORT]
                    measure against the server there (default port ${PINGPONG_PORT})
  --transport T     ${transportChoices().join(', ')} (default: FABRIC_TRANSPORT, else auto); the same on both sides
${measurement.MEASUREMENT_USAGE}
The client measures latency and write by default (--pattern changes that).
`;

const PINGPONG_OPTIONS = {
  ...measurement.MEASUREMENT_OPTIONS,
  ...optionSpecs(['connect', 'host', 'port', 'transport'], ['listen']),
};
type PingpongFlags = FlagsOf<typeof PINGPONG_OPTIONS>;

function transportOf(flags: PingpongFlags): TransportChoice | undefined {
  const [transport, ...more] = flags.choices('transport', transportChoices()) ?? [];
  if (more.length > 0) throw new UsageError('--transport takes one transport here');
  return transport;
}

/** HOST, HOST:PORT or [IPv6]:PORT. */
function hostAndPort(text: string): { host: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!match && !/^[0-9a-f:]+$/i.test(text)) throw new UsageError(`--connect: ${text} is not HOST[:PORT]`);
  const host = match ? (match[1] as string) : text;
  const port = match?.[2] === undefined ? PINGPONG_PORT : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--connect: bad port in ${text}`);
  return { host, port };
}

async function serve(flags: PingpongFlags): Promise<void> {
  const transport = transportOf(flags);
  const listener = await listen({
    host: flags.text('host') ?? '0.0.0.0',
    port: flags.number('port', 0, 65535) ?? PINGPONG_PORT,
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

async function measure(flags: PingpongFlags, peer: string): Promise<void> {
  const started = new Date();
  const { host, port } = hostAndPort(peer);
  const out = measurement.prepareOut(flags.text('out'));
  const transport =
    transportOf(flags) ?? (process.env.FABRIC_TRANSPORT as TransportChoice | undefined) ?? 'auto';
  const settings = measurement.measureSettings(flags, 3);
  if (!flags.has('pattern')) settings.patterns = ['latency', 'write'];
  const tooLarge = ['latency', 'messages'].some((p) => settings.patterns.includes(p as 'latency'))
    ? settings.sizes?.find((size) => size > BENCH_MAX_MESSAGE)
    : undefined;
  if (tooLarge !== undefined) {
    throw new UsageError(
      `--sizes: messages to a pingpong server are at most ${BENCH_MAX_MESSAGE} bytes, not ${tooLarge}`,
    );
  }
  const target = { host, port, transport, maxMessageSize: BENCH_MAX_MESSAGE };
  // One connection first: it proves the server answers and tells which transport 'auto' chose.
  const used = await withBench(target, { mode: 'echo' }, async (connection) => connection.transport);
  const run = await runRounds(
    interleaved(ourMeasurements({ ...target, transport: used }, settings)),
    settings.rounds,
    deadlineMs(settings.budget),
    measurement.progressOf(flags),
  );
  measurement.reportResults(
    assembleResults({
      tool: 'fabric-transport pingpong',
      started,
      settings: { ...settings, peers: false },
      endpoints: [{ transport: used, host }],
      series: run.series,
      missing: run.missing,
    }),
    flags,
    out,
  );
}

export async function pingpongCommand(args: string[]): Promise<void> {
  const flags = Flags.parse(args, PINGPONG_OPTIONS);
  const peer = flags.text('connect');
  if (flags.has('listen') === (peer !== undefined))
    throw new UsageError('pingpong needs --listen or --connect HOST[:PORT]');
  const misplaced = (
    peer === undefined
      ? (Object.keys(measurement.MEASUREMENT_OPTIONS) as (keyof typeof measurement.MEASUREMENT_OPTIONS)[])
      : (['host', 'port'] as const)
  ).find((name) => flags.has(name));
  if (misplaced)
    throw new UsageError(`--${misplaced} does not go with ${peer === undefined ? '--listen' : '--connect'}`);
  if (peer !== undefined) return measure(flags, peer);
  return serve(flags);
}
