import { FabricError } from '../../api/errors.js';
import { FrameRules, FrameType, SHARED_FRAME_FIELDS } from '../../protocol/frame.js';

/**
 * The frames TCP carries (docs/PROTOCOL.md, "Frame types"): messages with credit, and the one-sided operations
 * emulated with frames. The RDMA-only ones never travel over TCP: a peer that sends one is refused at its header.
 */
export const TCP_FRAMES = new FrameRules('TCP', {
  ...SHARED_FRAME_FIELDS,
  [FrameType.Message]: ['aux'],
  [FrameType.Credit]: ['aux'],
  [FrameType.Write]: ['id', 'key', 'offset'],
  [FrameType.WriteAck]: ['id'],
  [FrameType.ReadRequest]: ['id', 'aux', 'key', 'offset'],
  [FrameType.ReadResponse]: ['id'],
});

/** Frames of the handshake, and Error, which may refuse it. */
export const HANDSHAKE_FRAMES: ReadonlySet<FrameType> = new Set(
  Object.keys(SHARED_FRAME_FIELDS).map(Number) as FrameType[],
);

/** Frames of an open connection: every frame TCP carries but the handshake's own (Error stays). */
export const OPEN_FRAMES: ReadonlySet<FrameType> = new Set(
  [...TCP_FRAMES.types].filter((type) => type === FrameType.Error || !HANDSHAKE_FRAMES.has(type)),
);

/** The refusal of a frame that an open TCP connection does not take: one of the handshake's. */
export function notAfterHandshake(type: FrameType): FabricError {
  return new FabricError(
    'EPROTO',
    `protocol violation by the peer: frame type 0x${type.toString(16)} after the handshake`,
  );
}

/** The refusal of a data frame from a peer that has not completed the handshake. */
export function beforeHandshake(type: FrameType): FabricError {
  return new FabricError(
    'EPROTO',
    `protocol violation by the peer: frame type 0x${type.toString(16)} before the handshake completed`,
  );
}
