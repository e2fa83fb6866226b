import { FabricError } from '../api/errors.js';
import { Fifo } from './fifo.js';

interface Waiter<T> {
  resolve(item: T): void;
  reject(error: Error): void;
}

/**
 * A FIFO of items with promise-based takers and async iteration; the inbox of a connection and the accept
 * queue of a listener. Items pushed before the end are still delivered after it.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items = new Fifo<T>();
  private readonly waiters = new Fifo<Waiter<T>>();
  private ended: FabricError | undefined;
  /** Why the queue ended abnormally, until one taker has been told. */
  private unreported: FabricError | undefined;

  /**
   * @param closedMessage text of the ECLOSED error for takes after the end.
   * @param onTake called for each item as it is handed to a taker (e.g. to return flow-control credit).
   * @param onWait called when a taker starts waiting for an item.
   */
  constructor(
    private readonly closedMessage: string,
    private readonly onTake?: (item: T) => void,
    private readonly onWait?: () => void,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** Takers waiting for an item. */
  get waiting(): number {
    return this.waiters.length;
  }

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.onTake?.(item);
      waiter.resolve(item);
    } else {
      this.items.push(item);
    }
  }

  take(): Promise<T> {
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      this.onTake?.(item);
      return Promise.resolve(item);
    }
    if (this.unreported) {
      const reason = this.unreported;
      this.unreported = undefined;
      return Promise.reject(reason);
    }
    if (this.ended) return Promise.reject(this.ended);
    const item = new Promise<T>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.onWait?.();
    return item;
  }

  /**
   * Ends the queue. An abnormal `reason` reaches the current takers, or else the first take after the queued
   * items; every later take rejects with ECLOSED.
   */
  end(reason?: FabricError): void {
    if (this.ended) return;
    this.ended = new FabricError('ECLOSED', this.closedMessage, reason ? { cause: reason } : undefined);
    if (reason && this.waiters.length === 0) this.unreported = reason;
    for (const waiter of this.waiters.drain()) waiter.reject(reason ?? this.ended);
  }

  /** Drops queued items that nobody will take. */
  clear(): T[] {
    return this.items.drain();
  }

  /**
   * Iterates until the queue ends (an abnormal end throws). Written out rather than as an async generator:
   * that costs two more turns of the microtask queue per item, on the path a `for await` over messages takes.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    // Once it has ended (the queue ended, an error, or return()), it takes nothing more from the queue.
    let ended = false;
    const end = <R>(value?: R): IteratorReturnResult<R | undefined> => {
      ended = true;
      return { value, done: true };
    };
    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        if (ended) return Promise.resolve(end());
        return this.take().then(
          (value) => ({ value, done: false }),
          (error) => {
            const finished = end();
            if (error instanceof FabricError && error.code === 'ECLOSED') return finished;
            throw error;
          },
        );
      },
      return: (value) => Promise.resolve(end(value)),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
