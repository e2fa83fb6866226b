import { FabricError } from '../../api/errors.js';
import { FrameType } from '../../protocol/frame.js';

// The frame types TCP carries (docs/PROTOCOL.md). The RDMA-only ones (Rendezvous, RendezvousDone, KeyRequest,
// KeyGrant, KeyRevoke, KeyRevokeAck) never travel over TCP: a peer that sends one is refused at its header.

/** Frames of the handshake, and Error, which may refuse it. */
export const HANDSHAKE_FRAMES: ReadonlySet<FrameType> = new Set([
  FrameType.Hello,
  FrameType.Auth,
  FrameType.Ready,
  FrameType.Error,
]);

/** Frames of an open connection: messages and their credit, the one-sided operations emulated with frames. */
export const OPEN_FRAMES: ReadonlySet<FrameType> = new Set([
  FrameType.Message,
  FrameType.Credit,
  FrameType.Write,
  FrameType.WriteAck,
  FrameType.ReadRequest,
  FrameType.ReadResponse,
  FrameType.Error,
]);

/** Every frame type TCP carries. */
export const TCP_FRAMES: ReadonlySet<FrameType> = new Set([...HANDSHAKE_FRAMES, ...OPEN_FRAMES]);

/** The refusal of a frame that an open TCP connection does not take: RDMA-only, or of the handshake. */
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
