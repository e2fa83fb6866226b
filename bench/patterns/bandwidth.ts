import { type Connection, register } from '../../src/index.js';
import { type Budget, type RoundResult, repeat } from '../budget.js';
import { type FabricTarget, withBench } from '../fabric-target.js';

export type BandwidthPattern = 'write' | 'read' | 'messages';

/** GB/s (10⁹ bytes a second) of `size`-byte operations, `inFlight` at a time. */
export async function bandwidth(
  pattern: BandwidthPattern,
  target: FabricTarget,
  size: number,
  budget: Budget,
  inFlight: number,
): Promise<RoundResult> {
  if (pattern === 'messages') {
    return withBench(target, { mode: 'sink' }, (connection) =>
      messageBandwidth(connection, size, budget, inFlight),
    );
  }
  return withBench(target, { mode: 'region', bytes: size }, async (connection, descriptor) => {
    const local = register(new Uint8Array(size).fill(7));
    try {
      const operation =
        pattern === 'write'
          ? () => connection.write(local, descriptor as Uint8Array)
          : () => connection.read(local, descriptor as Uint8Array);
      const { operations, elapsedMs } = await repeat(budget, inFlight, operation);
      return { value: gigabytesPerSecond(operations * size, elapsedMs), operations };
    } finally {
      local.deregister();
    }
  });
}

/** Messages into a sink; the clock stops when the sink has answered the empty message sent after them. */
async function messageBandwidth(
  connection: Connection,
  size: number,
  budget: Budget,
  inFlight: number,
): Promise<RoundResult> {
  const message = new Uint8Array(size).fill(7);
  const drained = async () => {
    await connection.send(new Uint8Array(0));
    await connection.receive();
  };
  const { operations, elapsedMs } = await repeat(budget, inFlight, () => connection.send(message), drained);
  return { value: gigabytesPerSecond(operations * size, elapsedMs), operations };
}

export function gigabytesPerSecond(bytes: number, elapsedMs: number): number {
  return bytes / (elapsedMs * 1e6);
}
