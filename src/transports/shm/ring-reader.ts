import { FrameReader, type FrameSink } from '../../protocol/frame-reader.js';
import { SHM_FRAMES } from './frames.js';
import type { RingConsumer } from './ring.js';

/** Rounds of taking what waits per call, so that a peer that never stops writing cannot starve the loop. */
const ROUNDS_PER_DRAIN = 64;

/** What the reader needs of its connection. */
export interface ReaderLink {
  isClosed(): boolean;
  /** The peer waited for room that this side just gave back: ring its doorbell. */
  wakePeer(): void;
  /** A frame or the ring could not be processed (it threw): the connection fails. */
  onFrameError(error: unknown): void;
}

/**
 * Takes the bytes of the incoming ring into a FrameReader, so that payloads land where the sink names (a
 * message's own memory, a region's), copied once; every frame is checked as bytes from the network are.
 */
export class RingReader {
  private readonly frames: FrameReader;

  constructor(
    sink: FrameSink,
    private readonly ring: RingConsumer,
    private readonly link: ReaderLink,
  ) {
    this.frames = new FrameReader(sink, SHM_FRAMES);
  }

  /** True between frames: nothing of a partial frame is held. */
  get atBoundary(): boolean {
    return this.frames.atBoundary;
  }

  /** Takes what waits: 'more' when it stopped with bytes still there (call again after the loop's turn). */
  drain(): 'some' | 'none' | 'more' {
    let took = false;
    try {
      for (let round = 0; round < ROUNDS_PER_DRAIN; round++) {
        let available = this.ring.available();
        if (available === 0) return took ? 'some' : 'none';
        took = true;
        while (available > 0 && !this.link.isClosed()) {
          const target = this.frames.nextBuffer();
          const count = Math.min(available, target.length);
          this.ring.take(count === target.length ? target : target.subarray(0, count));
          this.frames.onRead(count);
          available -= count;
        }
        if (this.link.isClosed()) return 'some';
        if (this.ring.release()) this.link.wakePeer();
      }
      return 'more';
    } catch (error) {
      this.link.onFrameError(error);
      return 'some';
    }
  }
}
