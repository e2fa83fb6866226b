import { FrameRules, FrameType, HEADER_SIZE, SHARED_FRAME_FIELDS } from '../../protocol/frame.js';
import { SEGMENT_SIZE } from '../../protocol/segments.js';

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
export const MAX_SEGMENTS = Math.floor(EAGER_LIMIT / SEGMENT_SIZE);

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
