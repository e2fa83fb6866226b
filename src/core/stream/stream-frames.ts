import { FabricError } from '../../api/errors.js';
import { FrameRules, FrameType, SHARED_FRAME_FIELDS } from '../../protocol/frame.js';
import { SEGMENT_SIZE } from '../../protocol/segments.js';
import { MAX_REFERENCE_SEGMENTS } from './message-references.js';

/**
 * The frames a byte-stream transport carries (docs/PROTOCOL.md, "Frame types"): messages with credit, and the
 * one-sided operations emulated with frames; with `byReference`, also those whose bytes the owner copies
 * straight from or into the initiator's memory, and messages the receiver copies from the sender's (PeerMemory). The RDMA-only ones never travel over a stream: a
 * peer that sends one is refused at its header. `name` is the transport as error messages say it.
 */
export function streamFrameRules(name: string, byReference = false): FrameRules {
  const maxLengths = byReference ? { [FrameType.Rendezvous]: MAX_REFERENCE_SEGMENTS * SEGMENT_SIZE } : {};
  return new FrameRules(
    name,
    {
      ...SHARED_FRAME_FIELDS,
      [FrameType.Message]: ['aux'],
      [FrameType.Credit]: ['aux'],
      [FrameType.Write]: ['id', 'key', 'offset'],
      [FrameType.WriteAck]: ['id'],
      [FrameType.ReadRequest]: ['id', 'aux', 'key', 'offset'],
      [FrameType.ReadResponse]: ['id'],
      ...(byReference
        ? {
            [FrameType.Rendezvous]: ['id', 'aux', 'offset'],
            [FrameType.RendezvousDone]: ['id'],
            [FrameType.WriteFrom]: ['id', 'key', 'offset'],
            [FrameType.ReadInto]: ['id', 'aux', 'key', 'offset'],
            [FrameType.ReadDone]: ['id'],
          }
        : {}),
    },
    maxLengths,
  );
}

/** Frames of the handshake, and Error, which may refuse it. */
export const HANDSHAKE_FRAMES: ReadonlySet<FrameType> = new Set(
  Object.keys(SHARED_FRAME_FIELDS).map(Number) as FrameType[],
);

/** Frames of an open connection: every frame a stream carries but the handshake's own (Error stays). */
export const OPEN_FRAMES: ReadonlySet<FrameType> = new Set(
  [...streamFrameRules('', true).types].filter(
    (type) => type === FrameType.Error || !HANDSHAKE_FRAMES.has(type),
  ),
);

/** The refusal of a frame that an open stream connection does not take: one of the handshake's. */
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
