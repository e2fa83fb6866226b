import { FabricError } from '../../api/errors.js';
import { FrameType } from '../../protocol/frame.js';

/** Frames of the handshake, and Error, which may refuse it. */
export const HANDSHAKE_FRAMES: ReadonlySet<FrameType> = new Set([
  FrameType.Hello,
  FrameType.Auth,
  FrameType.Ready,
  FrameType.Error,
]);

/** The refusal of a frame that an open TCP connection does not take. */
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
