import { Fifo } from '../../util/fifo.js';
import type { NativeEndpoint } from './native.js';

export const [OP_SEND, OP_WRITE, OP_READ] = [0, 1, 2];
/** ibv_wc_status of work that will never complete because the queue pair is gone. */
export const WC_FLUSHED = 5;
/** ibv_send_flags */
const FENCE = 1;
const SIGNALED = 2;
const INLINE = 8;

/** One send-queue work request: a SEND, RDMA WRITE or RDMA READ of one registered range. */
export interface Work {
  opcode: number;
  address: bigint;
  length: number;
  lkey: number;
  remoteAddress: bigint;
  rkey: number;
  /** Called once with the completion status (0: success). */
  done(status: number): void;
}

/**
 * The send queue of a queue pair: posts work in call order, at most `depth` in flight (the rest wait here),
 * and matches completions to their work by id (ids stay below `idLimit`; receive buffers use the ids above).
 */
export class WorkQueue {
  private readonly inFlight = new Map<number, Work>();
  private readonly waiting = new Fifo<Work>();
  private nextId = 1;
  /** RDMA READs posted and not completed: a SEND behind them waits for them (a fence). */
  private readsInFlight = 0;
  private whenIdle: (() => void) | undefined;

  constructor(
    private readonly endpoint: NativeEndpoint,
    private readonly depth: number,
    private readonly idLimit: number,
    private readonly maxInline: number,
    /** Called when the provider refuses a post (the queue pair is in the error state, say). */
    private readonly onPostError: (errno: number) => void,
  ) {}

  get idle(): boolean {
    return this.inFlight.size === 0 && this.waiting.length === 0;
  }

  post(work: Work): void {
    if (this.inFlight.size >= this.depth || this.waiting.length > 0) {
      this.waiting.push(work);
      return;
    }
    this.postNow(work);
  }

  /** A send completion: settles its work and posts what waited for room. */
  complete(id: number, status: number): void {
    const work = this.inFlight.get(id);
    if (!work) return;
    this.inFlight.delete(id);
    if (work.opcode === OP_READ) this.readsInFlight--;
    work.done(status);
    for (
      let next = this.waiting.peek();
      next && this.inFlight.size < this.depth;
      next = this.waiting.peek()
    ) {
      this.waiting.shift();
      this.postNow(next);
    }
    if (this.idle) this.whenIdle?.();
  }

  /** Calls `resolve` once nothing is in flight or waiting (at once if so already). */
  onIdle(resolve: () => void): void {
    this.whenIdle = resolve;
    if (this.idle) resolve();
  }

  /** The queue pair is gone: every unfinished work completes as flushed, releasing what it holds. */
  flush(): void {
    const unfinished = [...this.inFlight.values(), ...this.waiting.drain()];
    this.inFlight.clear();
    this.readsInFlight = 0;
    for (const work of unfinished) work.done(WC_FLUSHED);
    if (this.idle) this.whenIdle?.();
  }

  private postNow(work: Work): void {
    const id = this.nextId;
    this.nextId = (this.nextId % (this.idLimit - 1)) + 1;
    const inline = work.opcode === OP_SEND && work.length <= this.maxInline ? INLINE : 0;
    // RC orders a SEND after earlier WRITEs, not after earlier READs (a READ may be retried after it): a message
    // or a revocation acknowledgement must not overtake a read of the peer's memory.
    const fence = work.opcode === OP_SEND && this.readsInFlight > 0 ? FENCE : 0;
    const error = this.endpoint.postSend(
      id,
      work.opcode,
      work.address,
      work.length,
      work.lkey,
      work.remoteAddress,
      work.rkey,
      SIGNALED | inline | fence,
    );
    if (error !== 0) {
      work.done(error);
      this.onPostError(error);
      return;
    }
    this.inFlight.set(id, work);
    if (work.opcode === OP_READ) this.readsInFlight++;
  }
}
