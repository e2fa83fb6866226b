import { counters } from '../stats.js';
import { decodeHeader, type FrameHeader, HEADER_SIZE } from './frame.js';

/** Returned by `FrameSink.payloadTarget` to read a payload and drop it (e.g. a write that was refused). */
export const DISCARD = Symbol('discard');

export interface FrameSink {
  /**
   * Where the payload of `header` must land: a Uint8Array of exactly `header.length` bytes (region memory,
   * a pending read's buffer), `undefined` to let the reader allocate it, or DISCARD. May throw to reject the frame.
   */
  payloadTarget(header: FrameHeader): Uint8Array | undefined | typeof DISCARD;
  /** A whole frame arrived; `payload` is the target filled (empty for DISCARD or zero-length frames). */
  onFrame(header: FrameHeader, payload: Uint8Array): void;
}

const DISCARD_CHUNK = 64 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * Incremental frame parser that tells the socket where to put the next bytes (node:net's `onread.buffer`),
 * so payloads land straight in their final memory. It never reads past a header whose payload it has not
 * seen: headers are read exactly, and a payload it allocates has room for the next header behind it, so a
 * stream of small frames costs one read each while large payloads arrive without a user-space copy.
 */
export class FrameReader {
  private readonly headerBuf = Buffer.alloc(HEADER_SIZE);
  private headerFill = 0;
  private header: FrameHeader | undefined;
  private target: Uint8Array = EMPTY;
  private targetFill = 0;
  /** Whether the target is the sink's memory (a region, a read's buffer) rather than one the reader made. */
  private placing = false;
  private discarding = false;
  private discardLeft = 0;
  private scratch: Uint8Array | undefined;

  constructor(private readonly sink: FrameSink) {}

  /** True between frames: nothing of a partial frame is held. */
  get atBoundary(): boolean {
    return this.header === undefined && this.headerFill === 0;
  }

  /** The memory the next read must fill (never empty). */
  nextBuffer(): Uint8Array {
    if (this.header === undefined) {
      return this.headerFill === 0 ? this.headerBuf : this.headerBuf.subarray(this.headerFill);
    }
    if (this.discarding) {
      this.scratch ??= new Uint8Array(DISCARD_CHUNK);
      return this.scratch.subarray(0, Math.min(this.discardLeft, DISCARD_CHUNK));
    }
    return this.targetFill === 0 ? this.target : this.target.subarray(this.targetFill);
  }

  /** `count` bytes were written into the buffer last returned by nextBuffer(). Throws EPROTO on a bad frame. */
  onRead(count: number): void {
    if (this.header === undefined) {
      this.headerFill += count;
      if (this.headerFill === HEADER_SIZE) this.beginPayload();
      return;
    }
    if (this.discarding) {
      this.discardLeft -= count;
      if (this.discardLeft === 0) this.endFrame(EMPTY, 0);
      return;
    }
    this.targetFill += count;
    if (this.placing) counters.placedBytes += count;
    const { length } = this.header;
    if (this.targetFill >= length) this.endFrame(this.target.subarray(0, length), this.targetFill - length);
  }

  private beginPayload(): void {
    const header = decodeHeader(this.headerBuf);
    this.header = header;
    this.headerFill = 0;
    if (header.length === 0) {
      this.endFrame(EMPTY, 0);
      return;
    }
    const target = this.sink.payloadTarget(header);
    if (target === DISCARD) {
      this.discarding = true;
      this.discardLeft = header.length;
    } else {
      // Room for the next header behind an allocated payload; caller-supplied memory is read exactly.
      // Its own memory (not Node's shared pool), so a message never exposes other data through .buffer.
      this.target = target ?? Buffer.allocUnsafeSlow(header.length + HEADER_SIZE);
      this.placing = target !== undefined;
      this.targetFill = 0;
    }
  }

  /** Completes the current frame; `spill` bytes of the next header were read behind its payload. */
  private endFrame(payload: Uint8Array, spill: number): void {
    const header = this.header as FrameHeader;
    if (spill > 0) this.headerBuf.set(this.target.subarray(header.length, header.length + spill));
    this.header = undefined;
    this.discarding = false;
    this.target = EMPTY;
    this.headerFill = spill;
    this.sink.onFrame(header, payload);
    if (this.headerFill === HEADER_SIZE) this.beginPayload();
  }
}
