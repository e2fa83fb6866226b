// Where our measurements connect: a bench server (service.ts) on one transport.
import { type Connection, connect, type TransportChoice } from '../src/index.js';
import { type BenchRequest, checkAnswer, encodeJson } from './service.js';

export interface FabricTarget {
  host: string;
  port: number;
  transport: TransportChoice;
  /** The largest message the measurements send (both ends must accept it). */
  maxMessageSize: number;
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
