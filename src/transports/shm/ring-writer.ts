import type { FabricError } from '../../api/errors.js';
import { counters } from '../../api/stats.js';
import type { FrameOutput, WriteDone } from '../../core/stream/frame-output.js';
import { encodeHeaderInto, FrameType, HEADER_SIZE, type HeaderFields } from '../../protocol/frame.js';
import { Fifo } from '../../util/fifo.js';
import type { RingProducer } from './ring.js';

/** Frames whose payload is the application's data (not a reference to it, not an error text). */
const COPIED_FRAMES: ReadonlySet<FrameType> = new Set([
  FrameType.Message,
  FrameType.Write,
  FrameType.ReadResponse,
]);

/** Part of a frame that did not fit the ring yet; `done` on its frame's last part. */
interface Waiting {
  bytes: Uint8Array;
  done: WriteDone | undefined;
}

/** What the writer needs of its connection. */
export interface WriterLink {
  /** The peer slept through what was published: ring its doorbell. */
  wakePeer(): void;
  /** The peer corrupted the ring's head: the connection fails (without telling the peer). */
  corrupted(reason: FabricError): void;
}

/**
 * Puts frames into the outgoing ring in order, copying each part once; what does not fit waits, in order, for
 * the room the peer gives back. Every frame is published as soon as it is in, so the peer can start on it.
 */
export class RingWriter implements FrameOutput {
  private readonly headerBytes = new Uint8Array(HEADER_SIZE);
  private readonly waiting = new Fifo<Waiting>();
  private failure: Error | undefined;

  constructor(
    private readonly ring: RingProducer,
    private readonly link: WriterLink,
  ) {}

  /** Whether frames wait for room. */
  get blocked(): boolean {
    return this.waiting.length > 0;
  }

  writeFrame(header: HeaderFields, parts: readonly Uint8Array[], done?: WriteDone): void {
    if (this.failure) {
      done?.(this.failure);
      return;
    }
    encodeHeaderInto(this.headerBytes, header);
    let length = HEADER_SIZE;
    for (const part of parts) length += part.length;
    // The application's bytes are copied into the ring here (and out of it by the peer): stats() says so.
    if (COPIED_FRAMES.has(header.type)) counters.copiedBytes += length - HEADER_SIZE;
    if (this.waiting.length === 0 && this.room() >= length) {
      this.ring.put(this.headerBytes, HEADER_SIZE);
      for (const part of parts) if (part.length > 0) this.ring.put(part, part.length);
      this.publish();
      done?.();
      return;
    }
    // The header buffer is the next frame's: the waiting frame keeps a copy.
    const chunks = [this.headerBytes.slice(), ...parts.filter((part) => part.length > 0)];
    chunks.forEach((bytes, i) => {
      this.waiting.push({ bytes, done: i === chunks.length - 1 ? done : undefined });
    });
    this.flush();
  }

  /** Puts in what waits, as far as the room goes; asks to be woken for the rest. */
  flush(): void {
    for (;;) {
      let moved = false;
      for (let next = this.waiting.peek(); next; next = this.waiting.peek()) {
        const room = this.room();
        if (room === 0) break;
        const count = Math.min(room, next.bytes.length);
        this.ring.put(next.bytes, count);
        moved = true;
        if (count < next.bytes.length) {
          next.bytes = next.bytes.subarray(count);
          break;
        }
        this.waiting.shift();
        if (next.done) {
          this.publish();
          next.done();
        }
      }
      if (moved) this.publish();
      if (this.waiting.length === 0 || this.failure) return;
      // Said so in the ring: the peer rings our doorbell once it took bytes (a poll may find the room first).
      if (!this.ring.awaitRoom()) continue;
      return;
    }
  }

  /** The connection ended: waiting frames never go, and later ones fail at once. */
  close(reason: Error): void {
    this.failure ??= reason;
    for (const { done } of this.waiting.drain()) done?.(reason);
  }

  private room(): number {
    if (this.failure) return 0;
    try {
      return this.ring.room();
    } catch (error) {
      this.link.corrupted(error as FabricError);
      this.close(error as FabricError);
      return 0;
    }
  }

  private publish(): void {
    if (this.ring.publish()) this.link.wakePeer();
  }
}
