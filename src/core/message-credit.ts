import { FabricError } from '../api/errors.js';
import { HEADER_SIZE } from '../protocol/frame.js';

/**
 * Message flow control, both directions (docs/PROTOCOL.md, "Flow control"): a message of n bytes costs n + 32
 * (its header) of the receiver's window; the receiver returns that credit once its application took the
 * message. Every transport keeps this account the same way; when it returns credit, and in which frames, is
 * the transport's.
 */
export class MessageCredit {
  /** Message bytes this side may still send before the peer returns credit. */
  private sendable = 0;
  private peerWindow = 0;
  /** Message bytes the peer sent that were not returned as credit yet. */
  private unreturned = 0;
  /** Bytes of messages the application took, to return to the peer. */
  private owed = 0;

  /** `window`: the message bytes this side announced the peer may have unreturned at once. */
  constructor(private readonly window: number) {}

  /** The handshake told the peer's window: the credit this side starts with. */
  open(peerWindow: number): void {
    this.peerWindow = peerWindow;
    this.sendable = peerWindow;
  }

  /** What a message of `length` bytes costs. */
  static cost(length: number): number {
    return length + HEADER_SIZE;
  }

  /** Message bytes this side may still send. */
  get available(): number {
    return this.sendable;
  }

  spend(cost: number): void {
    this.sendable -= cost;
  }

  /** Credit the peer returned; more than it was sent is a protocol violation. */
  returned(bytes: number): void {
    if (this.sendable + bytes > this.peerWindow) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: it returned more credit than it was sent',
      );
    }
    this.sendable += bytes;
  }

  /** The peer sent a message of `length` bytes: it must fit the window this side announced. */
  charge(length: number): void {
    this.unreturned += MessageCredit.cost(length);
    if (this.unreturned > this.window) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: it sent more message bytes than its credit allows',
      );
    }
  }

  /** The application took a message of `length` bytes: its credit is owed to the peer. */
  consumed(length: number): void {
    this.owed += MessageCredit.cost(length);
  }

  /** Credit owed to the peer, not returned yet. */
  get owing(): number {
    return this.owed;
  }

  /** Message bytes the peer has sent and not had returned. */
  get peerHolds(): number {
    return this.unreturned;
  }

  /** Takes what is owed, to return it in a frame now. */
  takeOwed(): number {
    const credit = this.owed;
    this.owed = 0;
    this.unreturned -= credit;
    return credit;
  }
}
