import { FabricError } from '../../api/errors.js';
import { FrameType, HEADER_SIZE } from '../../protocol/frame.js';
import type { MessageCredit } from '../message-credit.js';
import type { FrameOutput } from './frame-output.js';

/**
 * When the message credit this side owes goes back to the peer, over core's MessageCredit: a message handed
 * to the application becomes credit carried by our next Message, and a Credit frame goes only once the peer
 * could run short. While it has no more than windowSlack bytes unreturned (the window beyond one maximal
 * message), it still has credit for any message we accept.
 */
export class CreditReturn {
  /** Window bytes beyond one maximal message: while the peer has no more unreturned, it still has credit for any. */
  private readonly windowSlack: number;
  private flushScheduled = false;

  constructor(
    private readonly credit: MessageCredit,
    private readonly maxMessageSize: number,
    receiveWindow: number,
    private readonly output: FrameOutput,
    /** Whether the connection is open: a deferred Credit frame is dropped once it is not. */
    private readonly isOpen: () => boolean,
  ) {
    this.windowSlack = receiveWindow - maxMessageSize - HEADER_SIZE;
  }

  /** The peer sent a message of `length` bytes: it must be within maxMessageSize and our window (EPROTO). */
  charge(length: number): void {
    if (length > this.maxMessageSize) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: a ${length}-byte message exceeds maxMessageSize ${this.maxMessageSize}`,
      );
    }
    this.credit.charge(length);
    if (this.credit.owing > 0) this.returnIfShort();
  }

  /** The application took a message of `length` bytes: its credit goes back, on our next Message or sooner. */
  consumed(length: number): void {
    this.credit.consumed(length);
    this.returnIfShort();
  }

  /** Sends the consumed credit in a Credit frame if the peer could run short, unless a Message carries it first. */
  private returnIfShort(): void {
    if (this.flushScheduled || this.credit.peerHolds <= this.windowSlack) return;
    this.flushScheduled = true;
    // Deferred so that a reply sent right after receive() carries the credit instead of an extra frame.
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.isOpen() || this.credit.owing === 0 || this.credit.peerHolds <= this.windowSlack) return;
      this.output.writeFrame({ type: FrameType.Credit, aux: this.credit.takeOwed() }, []);
    });
  }
}
