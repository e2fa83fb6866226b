import { FabricError } from '../../api/errors.js';
import { FrameRules, FrameType, HEADER_SIZE, SHARED_FRAME_FIELDS } from '../../protocol/frame.js';

// How frames travel over an RDMA queue pair (docs/PROTOCOL.md, "Over RDMA"): each frame is one SEND into one
// of the receiver's pre-posted buffers, so both ends agree on these numbers.

/** Size of every receive buffer: the largest frame one SEND carries, header included. */
export const FRAME_BYTES = 8192;
/** Frames (other than Credit frames) a side may send before it gets credit back. */
export const RECEIVE_CREDITS = 64;
/**
 * Receive buffers each side posts: one per credit, and as many again for Credit frames, which cost no credit.
 * A side returns credit only for frames it received, and the peer sends at most RECEIVE_CREDITS of those
 * between two of its passes over its completions, so the spares are never exhausted.
 */
export const RECEIVE_BUFFERS = 2 * RECEIVE_CREDITS;
/** Largest message sent inline in a Message frame; larger ones go by rendezvous. */
export const EAGER_LIMIT = FRAME_BYTES - HEADER_SIZE;
/** One rendezvous segment: u64 address, u32 rkey, u32 length. */
export const SEGMENT_SIZE = 16;
export const MAX_SEGMENTS = Math.floor(EAGER_LIMIT / SEGMENT_SIZE);

/** Registered memory the receiver reads a rendezvous message from. */
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

/** The frames RDMA carries (docs/PROTOCOL.md, "Frame types"): messages and rendezvous with frame credit, grants. */
export const RDMA_FRAMES = new FrameRules(
  'RDMA',
  {
    ...SHARED_FRAME_FIELDS,
    [FrameType.Message]: ['aux', 'key'],
    [FrameType.Credit]: ['aux', 'key'],
    [FrameType.Rendezvous]: ['id', 'aux', 'key', 'offset'],
    [FrameType.RendezvousDone]: ['id'],
    [FrameType.KeyRequest]: ['id', 'key'],
    [FrameType.KeyGrant]: ['id', 'aux', 'key'],
    [FrameType.KeyRevoke]: ['key'],
    [FrameType.KeyRevokeAck]: ['key'],
  },
  { [FrameType.Rendezvous]: FRAME_BYTES - HEADER_SIZE },
);
