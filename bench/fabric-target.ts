// Where our measurements connect: a bench server (service.ts) on one transport.
import { type Connection, connect, type TransportChoice } from '../src/index.js';
import { BENCH_MAX_MESSAGE, type BenchRequest } from './service.js';

export interface FabricTarget {
  host: string;
  port: number;
  transport: TransportChoice;
  /** The largest message the measurements send (both ends must accept it). */
  maxMessageSize: number;
}

/** A connection to the bench server that serves `request`, with the server's answer where it gives one. */
export async function openBench(
  target: FabricTarget,
  request: BenchRequest,
): Promise<{ connection: Connection; descriptor?: Uint8Array }> {
  const connection = await connect({
    host: target.host,
    port: target.port,
    transport: target.transport,
    maxMessageSize: Math.max(target.maxMessageSize, BENCH_MAX_MESSAGE),
  });
  try {
    await connection.send(new TextEncoder().encode(JSON.stringify(request)));
    if (request.mode === 'region') return { connection, descriptor: await connection.receive() };
    return { connection };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

/** Runs `measure` on a fresh bench connection and closes it, whatever happens. */
export async function withBench<T>(
  target: FabricTarget,
  request: BenchRequest,
  measure: (connection: Connection, descriptor: Uint8Array | undefined) => Promise<T>,
): Promise<T> {
  const { connection, descriptor } = await openBench(target, request);
  try {
    return await measure(connection, descriptor);
  } finally {
    await connection.close();
  }
}
