import { FrameReader, type FrameSink } from '../../protocol/frame-reader.js';
import { type DirectSocket, READ_END } from './direct-socket.js';
import { TCP_FRAMES } from './frames.js';

/** Where bytes still arriving on a closed connection go: drained, not parsed, until the peer's FIN. */
const DRAIN = new Uint8Array(64 * 1024);
/** Reads per wake-up when the connection reads for itself, so that one busy peer cannot starve the loop. */
const READS_PER_WAKEUP = 64;

/** node:net's `onread` option: it reads into the buffer `buffer()` names and reports the count. */
export type OnRead = { buffer: () => Uint8Array; callback: (count: number) => boolean };

/** What the reader needs of its connection. */
export interface ReaderLink {
  /** Whether the connection is closed: bytes still arriving are then drained, not parsed. */
  isClosed(): boolean;
  /** A frame could not be processed (it threw): the connection fails. */
  onFrameError(error: unknown): void;
}

/**
 * Reads one socket into a FrameReader, so that payloads land where the sink names: through node:net's
 * `onread` ('event' mode, the handshake, the end of the stream), or, once opened in 'spin' and 'hybrid',
 * by itself through the DirectSocket (woken when bytes wait, or polled while the application awaits the
 * peer), until the end of the stream or an error, which it gives back to node:net.
 */
export class SocketReader {
  /** node:net's `onread` for the socket. */
  readonly onread: OnRead;
  private readonly frames: FrameReader;
  /** Set while this side reads the socket itself ('spin' and 'hybrid' poll modes) instead of node:net. */
  private direct: DirectSocket | undefined;

  constructor(
    sink: FrameSink,
    private readonly link: ReaderLink,
  ) {
    this.frames = new FrameReader(sink, TCP_FRAMES);
    this.onread = {
      buffer: () => (link.isClosed() ? DRAIN : this.frames.nextBuffer()),
      callback: (count) => {
        this.onBytes(count);
        return true;
      },
    };
  }

  /** True between frames: nothing of a partial frame is held. */
  get atBoundary(): boolean {
    return this.frames.atBoundary;
  }

  /** The peer pads: from the next frame on, reads take up to READ_AHEAD_BYTES (protocol/frame-reader.ts). */
  readAhead(): void {
    this.frames.readAhead();
  }

  /** Takes the reading over from node:net, where the DirectSocket can. */
  takeOver(direct: DirectSocket): void {
    if (direct.takeOverReads(() => this.onReadable())) this.direct = direct;
  }

  /** One read for up to `micros` µs, if this side reads for itself: false when it does not, or the stream ended. */
  poll(micros: number): boolean {
    return this.direct !== undefined && this.readDirectly(this.direct, micros) !== READ_END;
  }

  private onBytes(count: number): void {
    if (this.link.isClosed()) return;
    try {
      this.frames.onRead(count);
    } catch (error) {
      this.link.onFrameError(error);
    }
  }

  private onReadable(): void {
    for (let reads = 0; reads < READS_PER_WAKEUP && this.direct !== undefined; reads++) {
      if (this.readDirectly(this.direct, 0) <= 0) return;
    }
    // More may wait, and after an error (a reset) libuv reports nothing more: carry on after the loop's turn.
    if (this.direct !== undefined) setImmediate(() => this.onReadable());
  }

  /** One read of the connection's own: the bytes read, 0 when none came within `micros`, or READ_END. */
  private readDirectly(direct: DirectSocket, micros: number): number {
    const count = direct.read(this.link.isClosed() ? DRAIN : this.frames.nextBuffer(), micros);
    if (count > 0) {
      this.onBytes(count);
    } else if (count === READ_END) {
      // node:net reads the end of the stream (or meets the error) itself, as in 'event' mode.
      this.direct = undefined;
      direct.giveBackReads();
    }
    return count;
  }
}
