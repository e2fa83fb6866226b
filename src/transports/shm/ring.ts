import { FabricError } from '../../api/errors.js';
import { controlWords, HEADER_PAGE, ringData } from './ring-layout.js';

function corrupted(what: string): FabricError {
  return new FabricError('EPROTO', `protocol violation by the peer: it corrupted the shared ring (${what})`);
}

/**
 * One side's end of a single-producer ring in memory shared with the peer. The peer can write anything there
 * at any time, so this side keeps its own index in JS, reads the peer's once per look, and checks it against
 * the capacity before trusting it (EPROTO otherwise), as bytes from the network are checked.
 */
abstract class RingEnd {
  protected readonly words: Int32Array;
  protected readonly data: Uint8Array;
  protected readonly mask: number;
  protected readonly control: ReturnType<typeof controlWords>;

  constructor(
    memory: ArrayBuffer,
    protected readonly capacity: number,
    ring: 0 | 1,
  ) {
    this.words = new Int32Array(memory, 0, HEADER_PAGE / 4);
    this.data = ringData(memory, capacity, ring);
    this.mask = capacity - 1;
    this.control = controlWords(ring);
  }

  /** Bytes written and not yet taken, from our own index and the peer's (checked). */
  protected filled(tail: number, head: number, peersWord: string): number {
    const filled = (tail - head) >>> 0;
    if (filled > this.capacity) throw corrupted(`${peersWord} ${filled} bytes away from ours`);
    return filled;
  }
}

/** The producer's end: copies bytes in after the tail and publishes them. */
export class RingProducer extends RingEnd {
  private tail = 0;

  /** Bytes that fit now. */
  room(): number {
    const head = Atomics.load(this.words, this.control.head) >>> 0;
    return this.capacity - this.filled(this.tail, head, 'head');
  }

  /** Copies the first `count` bytes of `bytes` in (count ≤ room()); they are the consumer's once published. */
  put(bytes: Uint8Array, count: number): void {
    const at = this.tail & this.mask;
    const first = Math.min(count, this.capacity - at);
    this.data.set(first === bytes.length ? bytes : bytes.subarray(0, first), at);
    if (count > first) this.data.set(bytes.subarray(first, count), 0);
    this.tail = (this.tail + count) >>> 0;
  }

  /** Makes what was put visible; true when the consumer was asleep and must be woken (its doorbell). */
  publish(): boolean {
    Atomics.store(this.words, this.control.tail, this.tail | 0);
    return Atomics.exchange(this.words, this.control.consumerAsleep, 0) === 1;
  }

  /** Says the producer waits for room, unless there is room already: false then. */
  awaitRoom(): boolean {
    Atomics.store(this.words, this.control.producerWaiting, 1);
    if (this.room() === 0) return true;
    Atomics.store(this.words, this.control.producerWaiting, 0);
    return false;
  }
}

/** The consumer's end: copies bytes out from the head and gives their room back. */
export class RingConsumer extends RingEnd {
  private head = 0;

  /** Bytes waiting. */
  available(): number {
    const tail = Atomics.load(this.words, this.control.tail) >>> 0;
    return this.filled(tail, this.head, 'tail');
  }

  /** Copies the next `target.length` bytes (≤ available()) out. */
  take(target: Uint8Array): void {
    const count = target.length;
    const at = this.head & this.mask;
    const first = Math.min(count, this.capacity - at);
    target.set(this.data.subarray(at, at + first));
    if (count > first) target.set(this.data.subarray(0, count - first), first);
    this.head = (this.head + count) >>> 0;
  }

  /** Gives the room of what was taken back; true when the producer waited for it and must be woken. */
  release(): boolean {
    Atomics.store(this.words, this.control.head, this.head | 0);
    return Atomics.exchange(this.words, this.control.producerWaiting, 0) === 1;
  }

  /** Whether the consumer polls (false) or sleeps until its doorbell rings (true, once nothing waits). */
  sleep(asleep: boolean): boolean {
    Atomics.store(this.words, this.control.consumerAsleep, asleep ? 1 : 0);
    return asleep && this.available() === 0;
  }
}
