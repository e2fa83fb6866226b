import { FabricError } from '../api/errors.js';

/** One rendezvous segment: u64 address, u32 rkey, u32 length. */
export const SEGMENT_SIZE = 16;

/** Memory the receiver of a rendezvous message copies it from: registered memory and its rkey over RDMA, the sender's process memory over shm (rkey 0). */
export interface Segment {
  address: bigint;
  rkey: number;
  length: number;
}

export function encodeSegments(segments: readonly Segment[]): Buffer {
  const buf = Buffer.allocUnsafe(segments.length * SEGMENT_SIZE);
  segments.forEach((segment, i) => {
    buf.writeBigUInt64LE(segment.address, i * SEGMENT_SIZE);
    buf.writeUInt32LE(segment.rkey, i * SEGMENT_SIZE + 8);
    buf.writeUInt32LE(segment.length, i * SEGMENT_SIZE + 12);
  });
  return buf;
}

/** Decodes the segments of a rendezvous message of `total` bytes; they must add up to it exactly. */
export function decodeSegments(payload: Uint8Array, total: number): Segment[] {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  const segments: Segment[] = [];
  let sum = 0;
  for (let at = 0; at + SEGMENT_SIZE <= buf.length; at += SEGMENT_SIZE) {
    const segment = {
      address: buf.readBigUInt64LE(at),
      rkey: buf.readUInt32LE(at + 8),
      length: buf.readUInt32LE(at + 12),
    };
    if (segment.length === 0) break;
    sum += segment.length;
    segments.push(segment);
  }
  if (segments.length * SEGMENT_SIZE !== buf.length || sum !== total) {
    throw new FabricError(
      'EPROTO',
      `protocol violation by the peer: rendezvous segments do not add up to ${total} bytes`,
    );
  }
  return segments;
}
