import { FabricError } from '../api/errors.js';

/** A byte view of any ArrayBufferView (a typed array such as a Float32Array tensor, a DataView), not a copy. */
function bytesOf(part: unknown): Uint8Array | undefined {
  if (part instanceof Uint8Array) return part;
  return ArrayBuffer.isView(part) ? new Uint8Array(part.buffer, part.byteOffset, part.byteLength) : undefined;
}

/** Checks and flattens the argument of send(). */
export function messageParts(message: unknown): { parts: readonly Uint8Array[]; length: number } {
  if (message instanceof Uint8Array) return { parts: [message], length: message.length };
  const candidates = Array.isArray(message) ? message : [message];
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const candidate of candidates) {
    const part = bytesOf(candidate);
    if (!part) {
      throw new FabricError(
        'EINVAL',
        'send() takes a Uint8Array, Buffer or other typed array, or an array of them',
      );
    }
    parts.push(part);
    length += part.length;
  }
  return { parts, length };
}
