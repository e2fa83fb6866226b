import { type Region, register } from '../../src/index.js';
import { type Budget, type RoundResult, repeat } from '../budget.js';
import { type FabricTarget, withBench } from '../fabric-target.js';
import { encodeCall } from '../service.js';

/**
 * The API-forwarding pattern: a small call message carries the descriptors of a `size`-byte tensor and of a
 * result buffer; the server pulls the tensor with `read`, writes it back with `write` and answers. ms per call.
 * The result is checked against the tensor, so a figure never comes from data that did not arrive.
 */
export function tensorRoundTrip(target: FabricTarget, size: number, budget: Budget): Promise<RoundResult> {
  return withBench(target, { mode: 'tensor', bytes: size }, async (connection) => {
    const tensor = register(patterned(size));
    let result: Region | undefined;
    try {
      result = register(new Uint8Array(size), { access: 'write' });
      const call = encodeCall(size, tensor.descriptor, result.descriptor);
      const { operations, elapsedMs } = await repeat(budget, 1, async () => {
        await connection.send(call);
        await connection.receive();
      });
      if (Buffer.compare(tensor.bytes, result.bytes) !== 0) {
        throw new Error(`tensor round trip of ${size} bytes: the result differs from the tensor`);
      }
      return { value: elapsedMs / operations, operations };
    } finally {
      tensor.deregister();
      result?.deregister();
    }
  });
}

/** `size` bytes of a repeating non-zero pattern, made by doubling (a per-byte loop over 256 MiB takes seconds). */
function patterned(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < Math.min(size, 251); i++) bytes[i] = i + 1;
  for (let filled = 251; filled < size; filled *= 2)
    bytes.copyWithin(filled, 0, Math.min(filled, size - filled));
  return bytes;
}
