import { Fifo } from '../util/fifo.js';
import type { MessageCredit } from './message-credit.js';

/** One of the application's sends, writes and reads, waiting for its turn. */
export interface UserOperation {
  /** Message credit it spends (0 for one-sided operations). */
  readonly cost: number;
  /** Puts it on the wire; false when it cannot go yet and must stay first (a transport's own limit). */
  start(): boolean;
  /** It will never go: the connection failed. */
  reject(error: Error): void;
}

/**
 * The application's operations in the order it issued them: each goes once those before it went and the
 * message credit covers it, so a one-sided write never overtakes a message sent before it.
 */
export class UserOperations {
  private readonly queue = new Fifo<UserOperation>();
  private pumping = false;
  private pumpAgain = false;

  constructor(private readonly credit: MessageCredit) {}

  get length(): number {
    return this.queue.length;
  }

  /** Whether an operation costing `cost` may go at once: nothing waits before it and the credit covers it. */
  clearFor(cost: number): boolean {
    return this.queue.length === 0 && cost <= this.credit.available;
  }

  push(operation: UserOperation): void {
    this.queue.push(operation);
    this.pump();
  }

  /** Starts operations from the first while each can go. */
  pump(): void {
    if (this.pumping) {
      // Called back from an operation's start(): the loop below goes on once that returns.
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (let next = this.queue.peek(); next; next = this.queue.peek()) {
          if (next.cost > this.credit.available) break;
          let started: boolean;
          try {
            started = next.start();
          } catch (error) {
            // Not tried again, and its credit stays: it rejects, and the queue goes on.
            this.queue.shift();
            next.reject(error as Error);
            continue;
          }
          if (!started) break;
          this.queue.shift();
          this.credit.spend(next.cost);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** Rejects every operation still waiting. */
  rejectAll(reason: Error): void {
    for (const operation of this.queue.drain()) operation.reject(reason);
  }
}
