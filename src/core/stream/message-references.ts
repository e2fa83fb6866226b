import { FabricError } from '../../api/errors.js';
import { counters } from '../../api/stats.js';
import { type FrameHeader, FrameType } from '../../protocol/frame.js';
import { decodeSegments, encodeSegments } from '../../protocol/segments.js';
import type { FrameOutput } from './frame-output.js';
import { copyFailure, type PeerMemory } from './peer-memory.js';

/** Most parts a message sent by reference may have: its Rendezvous frame carries one segment per part. */
export const MAX_REFERENCE_SEGMENTS = 1024;

/**
 * Large messages by reference, where the peer can reach our memory (PeerMemory): the sender's Rendezvous frame
 * says where the message's parts are, the receiver copies them straight into the message's own memory with one
 * copy and answers RendezvousDone, and only then does the sender's send() settle (its memory may be reused).
 */
export class MessageReferences {
  /** Each transfer's settling, and its parts: they stay alive until the peer has copied them. */
  private readonly waiting = new Map<
    number,
    { settle: (error?: Error) => void; parts: readonly Uint8Array[] }
  >();
  private lastId = 0;

  constructor(
    private readonly memory: PeerMemory,
    private readonly output: FrameOutput,
    private readonly peerName: string,
  ) {}

  /** Whether a message of `parts`, `length` bytes in all, goes by reference. */
  applies(parts: readonly Uint8Array[], length: number): boolean {
    return parts.length <= MAX_REFERENCE_SEGMENTS && this.memory.byReference(length, 'message');
  }

  /** A new transfer: its id, and the segments its Rendezvous frame carries; `settle` runs on its answer. */
  start(parts: readonly Uint8Array[], settle: (error?: Error) => void): { id: number; segments: Uint8Array } {
    this.lastId = (this.lastId % 0xffff_ffff) + 1;
    const id = this.lastId;
    this.waiting.set(id, { settle, parts });
    const segments = encodeSegments(
      parts
        .filter((part) => part.length > 0)
        .map((part) => ({ address: this.memory.address(part), rkey: 0, length: part.length })),
    );
    return { id, segments };
  }

  /** The transfer will not be answered (the connection failed before its frame went). */
  forget(id: number): void {
    this.waiting.delete(id);
  }

  /** The peer's Rendezvous frame: its message, copied out of the peer's memory; RendezvousDone goes back. */
  receive(header: FrameHeader, payload: Uint8Array): Uint8Array {
    const message = new Uint8Array(header.offset);
    let at = 0;
    for (const segment of decodeSegments(payload, header.offset)) {
      if (segment.rkey !== 0)
        throw new FabricError('EPROTO', 'protocol violation by the peer: a segment with an rkey');
      const outcome = this.memory.copyFrom(segment.address, message.subarray(at, at + segment.length));
      if (outcome === 'gone') throw copyFailure(outcome, this.peerName, `a ${header.offset}-byte message`);
      if (outcome === 'refused') {
        throw new FabricError(
          'EPROTO',
          `cannot copy a ${header.offset}-byte message out of ${this.peerName}'s memory (the kernel refused)`,
        );
      }
      at += segment.length;
    }
    counters.kernelCopiedBytes += message.length;
    this.output.writeFrame({ type: FrameType.RendezvousDone, id: header.id }, []);
    return message;
  }

  /** The peer's RendezvousDone: that send settles. */
  done(header: FrameHeader): void {
    const settle = this.waiting.get(header.id)?.settle;
    if (settle === undefined) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: RendezvousDone for unknown message ${header.id}`,
      );
    }
    this.waiting.delete(header.id);
    settle();
  }
}
