import { FabricError } from '../api/errors.js';
import { counters } from '../api/stats.js';
import {
  carriesPlacedPayload,
  decodeHeader,
  type FrameHeader,
  type FrameRules,
  HEADER_SIZE,
  READ_AHEAD_BYTES,
} from './frame.js';

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
/** Below this many bytes a loop copies faster than a view and set(). */
const SHORT_COPY = 64;

/** Throws EPROTO unless `count` bytes of `bytes` from `from` are zero: read-ahead padding (frame.ts). */
function checkPadding(bytes: Uint8Array, from: number, count: number): void {
  let any = 0;
  for (let i = from; i < from + count; i++) any |= bytes[i] as number;
  if (any !== 0) {
    throw new FabricError('EPROTO', 'protocol violation by the peer: read-ahead padding that is not zero');
  }
}

/** Copies `count` bytes of `source` from `from` to the start of `target`. */
function copyBytes(source: Uint8Array, from: number, target: Uint8Array, count: number): void {
  if (count < SHORT_COPY) {
    for (let i = 0; i < count; i++) target[i] = source[from + i] as number;
  } else {
    target.set(source.subarray(from, from + count));
  }
}

/**
 * Incremental frame parser that tells the socket where to put the next bytes (node:net's `onread.buffer`),
 * so payloads land straight in their final memory. No read reaches further than `reach` bytes past the start
 * of any frame it enters: the header alone (32 bytes), or with read-ahead (`readAhead()`, once the peer
 * pads, see frame.ts) 256 bytes, which hold a small message whole but only the header and padding of a frame
 * whose payload goes to memory the sink names. So such payloads are never copied, while a stream of small
 * frames costs one read each. The stage holds the bytes read from the current frame's start; an allocated
 * payload has room for the next header behind it.
 */
export class FrameReader {
  // A plain Uint8Array: its subarray() is V8's builtin, cheaper than Buffer's on every read.
  private readonly stage = new Uint8Array(READ_AHEAD_BYTES);
  private staged = 0;
  private reach = HEADER_SIZE;
  /** The stage up to `reach`: what most reads fill, made once rather than a view per read. */
  private wholeStage = this.stage.subarray(0, HEADER_SIZE);
  private header: FrameHeader | undefined;
  /** Padding of the current frame still to be read (read-ahead only). */
  private paddingLeft = 0;
  private target: Uint8Array = EMPTY;
  private targetFill = 0;
  /** Whether the target is the sink's memory (a region, a read's buffer) rather than one the reader made. */
  private placing = false;
  private discarding = false;
  private discardLeft = 0;
  private scratch: Uint8Array | undefined;

  /**
   * @param rules the transport's rules each header is checked against (frame.ts, FrameRules); undefined
   * checks only what every transport shares (tests, tools).
   */
  constructor(
    private readonly sink: FrameSink,
    private readonly rules: FrameRules | undefined,
  ) {}

  /** True between frames: nothing of a partial frame is held. */
  get atBoundary(): boolean {
    return this.header === undefined && this.staged === 0;
  }

  /** From the next frame on, reads take up to READ_AHEAD_BYTES: the peer pads as frame.ts says. */
  readAhead(): void {
    this.reach = READ_AHEAD_BYTES;
    this.wholeStage = this.stage;
  }

  /** The memory the next read must fill (never empty). */
  nextBuffer(): Uint8Array {
    if (this.header === undefined) {
      return this.staged === 0 ? this.wholeStage : this.stage.subarray(this.staged, this.reach);
    }
    if (this.paddingLeft > 0) return this.stage.subarray(0, this.paddingLeft);
    if (this.discarding) {
      this.scratch ??= new Uint8Array(DISCARD_CHUNK);
      return this.scratch.subarray(0, Math.min(this.discardLeft, DISCARD_CHUNK));
    }
    return this.targetFill === 0 ? this.target : this.target.subarray(this.targetFill);
  }

  /** `count` bytes were written into the buffer last returned by nextBuffer(). Throws EPROTO on a bad frame. */
  onRead(count: number): void {
    if (this.header === undefined) {
      this.staged += count;
      this.takeStaged();
    } else if (this.paddingLeft > 0) {
      checkPadding(this.stage, 0, count);
      this.paddingLeft -= count;
      if (this.paddingLeft === 0 && this.header.length === 0) this.endFrame(EMPTY);
    } else if (this.discarding) {
      this.discardLeft -= count;
      if (this.discardLeft === 0) this.endFrame(EMPTY);
    } else {
      this.targetFill += count;
      if (this.placing) counters.placedBytes += count;
      const { length } = this.header;
      if (this.targetFill < length) return;
      const spill = this.targetFill - length;
      if (spill > 0) {
        // The next frame's header, read behind an allocated payload: it moves to the stage.
        copyBytes(this.target, length, this.stage, spill);
        this.staged = spill;
      }
      // The room behind a message holds the next header or uninitialised memory: neither may show through .buffer.
      if (!this.placing && this.target.length > length) this.target.fill(0, length);
      this.endFrame(this.filledTarget(length));
      this.takeStaged();
    }
  }

  /** Handles every frame that starts in the stage; a partial one is left at the stage's start. */
  private takeStaged(): void {
    while (this.header === undefined && this.staged >= HEADER_SIZE) {
      const used = this.beginFrame();
      if (used < this.staged) this.stage.copyWithin(0, used, this.staged);
      this.staged -= used;
    }
  }

  /** Starts the frame whose header is at the stage's start, with what is staged of it; the bytes it used. */
  private beginFrame(): number {
    const header = decodeHeader(this.stage, this.rules);
    this.header = header;
    let used = HEADER_SIZE;
    const padding =
      this.reach > HEADER_SIZE && carriesPlacedPayload(header.type) ? this.reach - HEADER_SIZE : 0;
    const paddingStaged = Math.min(padding, this.staged - used);
    checkPadding(this.stage, used, paddingStaged);
    used += paddingStaged;
    this.paddingLeft = padding - paddingStaged;
    if (header.length > 0) this.prepareTarget(header);
    if (this.paddingLeft > 0) return used;
    if (header.length === 0) {
      this.endFrame(EMPTY);
      return used;
    }
    const taken = Math.min(this.staged - used, header.length);
    if (taken === 0) return used;
    if (this.discarding) {
      this.discardLeft -= taken;
      if (this.discardLeft === 0) this.endFrame(EMPTY);
      return used + taken;
    }
    copyBytes(this.stage, used, this.target, taken);
    counters.copiedBytes += taken;
    this.targetFill = taken;
    if (taken === header.length) this.endFrame(this.filledTarget(taken));
    return used + taken;
  }

  private prepareTarget(header: FrameHeader): void {
    const target = this.sink.payloadTarget(header);
    if (target === DISCARD) {
      this.discarding = true;
      this.discardLeft = header.length;
      return;
    }
    this.placing = target !== undefined;
    if (target !== undefined) {
      this.target = target;
      return;
    }
    // Its own memory (not Node's shared pool), so a message never exposes other data through .buffer. Unless
    // the stage holds the whole payload already, room behind it for the next header (not more: the bytes held
    // for a message stay what its credit counts, length + 32), so the read that ends it takes that too.
    const staged = this.staged - HEADER_SIZE;
    this.target = Buffer.allocUnsafeSlow(header.length + (staged >= header.length ? 0 : HEADER_SIZE));
  }

  /** The target's first `length` bytes: the target itself unless it has room behind them. */
  private filledTarget(length: number): Uint8Array {
    return this.target.length === length ? this.target : this.target.subarray(0, length);
  }

  private endFrame(payload: Uint8Array): void {
    const header = this.header as FrameHeader;
    this.header = undefined;
    this.discarding = false;
    this.placing = false;
    this.target = EMPTY;
    this.targetFill = 0;
    this.sink.onFrame(header, payload);
  }
}
