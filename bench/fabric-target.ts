// Where our measurements connect: a bench server (service.ts) on one transport.
import { type Connection, connect, type PollMode, type TransportChoice } from '../src/index.js';
import { type BenchRequest, checkAnswer, encodeJson } from './service.js';

export interface FabricTarget {
  host: string;
  port: number;
  transport: TransportChoice;
  /** The largest message the measurements send (both ends must accept it). */
  maxMessageSize: number;
  /** How the client waits for the server (which has its own); default: FABRIC_POLL, FABRIC_SPIN_US. */
  poll?: { mode: PollMode; spinMicros: number };
}

/** The series a target's figures go to: its transport, and its poll mode unless 'event'. */
export function seriesName(target: FabricTarget): string {
  const mode = target.poll?.mode ?? 'event';
  return mode === 'event' ? target.transport : `${target.transport} ${mode}`;
}

/**
 * Runs `measure` on a fresh connection to the bench server that serves `request` (with the region's
 * descriptor when it asked for one), and closes it, whatever happens.
 */
export async function withBench<T>(
  target: FabricTarget,
  request: BenchRequest,
  measure: (connection: Connection, descriptor: Uint8Array | undefined) => Promise<T>,
): Promise<T> {
  const connection = await connect({
    host: target.host,
    port: target.port,
    transport: target.transport,
    maxMessageSize: target.maxMessageSize,
    ...(target.poll ? { pollMode: target.poll.mode, spinMicros: target.poll.spinMicros } : {}),
  });
  try {
    await connection.send(encodeJson(request));
    checkAnswer(await connection.receive());
    const descriptor = request.mode === 'region' ? await connection.receive() : undefined;
    return await measure(connection, descriptor);
  } finally {
    await connection.close();
  }
}
