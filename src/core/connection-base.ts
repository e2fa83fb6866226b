import type { Connection } from '../api/connection.js';
import { FabricError } from '../api/errors.js';
import type { TransportKind } from '../api/options.js';
import type { Region, RegionSlice } from '../api/region.js';
import { decodeErrorFrame } from '../protocol/error-frame.js';
import { type FrameHeader, FrameType } from '../protocol/frame.js';
import { HandshakeSession, type Role } from '../protocol/handshake-session.js';
import { AsyncQueue } from '../util/async-queue.js';
import { MessageCredit } from './message-credit.js';
import { messageParts } from './message-parts.js';
import { OperationTable, type PendingOperation } from './operation-table.js';
import type { ResolvedOptions } from './options.js';
import { SpinPoller } from './spin-poller.js';
import { UserOperations } from './user-operations.js';

export type ConnectionState = 'handshake' | 'open' | 'closed';

/**
 * What every transport's connection shares: the handshake and its deadline, the inbox, message credit, the
 * ordered queue of the application's operations, the operations waiting for the peer (of the transport's
 * `Operation` type), and settling all of them, once, when the connection fails or closes.
 */
export abstract class BaseConnection<Operation extends PendingOperation = PendingOperation>
  implements Connection
{
  abstract readonly transport: TransportKind;
  /** Resolves when the handshake completed. */
  readonly ready: Promise<void>;
  /** Resolves once the connection is closed, by either side or by an error. */
  readonly whenClosed: Promise<void>;
  protected state: ConnectionState = 'handshake';
  protected readonly inbox: AsyncQueue<Uint8Array>;
  protected readonly handshake: HandshakeSession;
  protected readonly operations = new OperationTable<Operation>();
  protected readonly credit: MessageCredit;
  protected readonly userOperations: UserOperations;
  /** Rejecters of sends not yet settled. */
  protected readonly unsettledSends = new Set<(error: Error) => void>();
  /** Why the connection closed, once it has. */
  protected failure: FabricError | undefined;
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly poller: SpinPoller | undefined;
  private markReady!: () => void;
  private markFailed!: (error: FabricError) => void;
  private markClosed!: () => void;
  /** The application's writes and reads not settled yet (maxInFlight). */
  private oneSidedInFlight = 0;

  protected constructor(
    role: Role,
    protected readonly options: ResolvedOptions,
    protected readonly peerName: string,
    receiveWindow: number,
    capabilities = 0,
  ) {
    this.credit = new MessageCredit(receiveWindow);
    this.userOperations = new UserOperations(this.credit);
    this.inbox = new AsyncQueue(
      'the connection is closed',
      (message) => this.consumed(message),
      () => this.awaitingPeer(),
    );
    this.poller =
      options.pollMode === 'event'
        ? undefined
        : new SpinPoller(
            options.pollMode,
            options.spinMicros,
            (micros) => this.state === 'open' && this.pollOnce(micros),
            () => this.awaitsPeer(),
          );
    this.handshake = new HandshakeSession(
      role,
      options,
      receiveWindow,
      peerName,
      (type, payload) => this.sendHandshakeFrame(type, payload),
      capabilities,
    );
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.markFailed = reject;
    });
    this.ready.catch(() => {});
    this.whenClosed = new Promise<void>((resolve) => {
      this.markClosed = resolve;
    });
    this.handshakeTimer = setTimeout(
      () =>
        this.abort(
          new FabricError(
            'ETIMEDOUT',
            `the handshake with ${peerName} did not complete within ${options.handshakeTimeout} ms: ` +
              'is a fabric-transport peer listening there?',
          ),
        ),
      options.handshakeTimeout,
    );
  }

  abstract send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void>;
  abstract write(
    source: Region | RegionSlice,
    remoteDescriptor: Uint8Array,
    remoteOffset?: number,
  ): Promise<void>;
  abstract read(
    target: Region | RegionSlice,
    remoteDescriptor: Uint8Array,
    remoteOffset?: number,
  ): Promise<void>;
  abstract close(): Promise<void>;
  /** Puts one handshake frame on the wire. */
  protected abstract sendHandshakeFrame(type: FrameType, payload: Uint8Array): void;
  /** A message was handed to the application: its credit may go back to the peer. */
  protected abstract consumed(message: Uint8Array): void;
  /** Fails the connection with `reason`, telling the peer why when `tellPeer`, and tears the transport down. */
  protected abstract abort(reason: FabricError, tellPeer?: boolean): void;
  /** The handshake completed (the peer's HELLO is known); data may flow from now on. */
  protected opened(): void {}
  /** Settles what only the transport holds (transfers, say) once the connection failed. */
  protected releasePending(_reason: FabricError): void {}
  /**
   * Reads the socket or completion queue directly for up to `micros` µs, handling what arrived ('spin' and
   * 'hybrid' poll modes); false when the transport cannot be polled (then the event loop delivers).
   */
  protected abstract pollOnce(micros: number): boolean;

  /** Turns the peer away during the handshake, telling it why. */
  refuse(reason: FabricError): void {
    this.abort(reason);
  }

  /** Whether the application awaits something from the peer: a message, a completion, an answer. */
  protected awaitsPeer(): boolean {
    return (
      this.inbox.waiting > 0 ||
      this.operations.size > 0 ||
      this.unsettledSends.size > 0 ||
      this.userOperations.length > 0
    );
  }

  /** The application now awaits the peer: in 'spin' and 'hybrid' modes, poll for it instead of sleeping. */
  protected awaitingPeer(): void {
    if (this.state === 'open') this.poller?.kick();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get peerMaxMessageSize(): number {
    return this.handshake.peer?.maxMessageSize ?? 0;
  }

  receive(): Promise<Uint8Array> {
    return this.inbox.take();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.inbox[Symbol.asyncIterator]();
  }

  /** The checks of send(): open, bytes, and no larger than the peer accepts. */
  protected outgoingMessage(message: unknown): { parts: readonly Uint8Array[]; length: number } {
    this.checkOpen();
    const outgoing = messageParts(message);
    const peerMax = this.peerMaxMessageSize;
    if (outgoing.length > peerMax) {
      throw new FabricError(
        'EMSGSIZE',
        `a message of ${outgoing.length} bytes exceeds the peer's maxMessageSize of ${peerMax}: ` +
          'raise FABRIC_MAX_MESSAGE on the receiver, or move the data through a registered region',
      );
    }
    return outgoing;
  }

  /**
   * Runs one-sided operation `start` (which checks its arguments and issues it) if the connection is open and
   * has room under maxInFlight (ENOBUFS otherwise), counting it until it settles.
   */
  protected async limitedOneSided(start: () => Promise<void>): Promise<void> {
    this.checkOpen();
    if (this.oneSidedInFlight >= this.options.maxInFlight) {
      throw new FabricError(
        'ENOBUFS',
        `${this.oneSidedInFlight} one-sided operations are already in flight on this connection (maxInFlight): ` +
          'await some before starting more, or raise FABRIC_MAX_IN_FLIGHT',
      );
    }
    this.oneSidedInFlight++;
    try {
      await start();
    } finally {
      this.oneSidedInFlight--;
    }
  }

  protected checkOpen(): void {
    if (this.state !== 'open') {
      throw new FabricError(
        'ECLOSED',
        'the connection is closed',
        this.failure ? { cause: this.failure } : undefined,
      );
    }
  }

  /** A frame received before the handshake completed. */
  protected onHandshakeFrame(header: FrameHeader, payload: Uint8Array): void {
    if (header.type === FrameType.Error) {
      this.onErrorFrame(header, payload);
      return;
    }
    if (this.handshake.onFrame(header, payload)) {
      clearTimeout(this.handshakeTimer);
      this.state = 'open';
      this.credit.open(this.handshake.peer?.receiveWindow ?? 0);
      this.opened();
      this.markReady();
    }
  }

  /** A frame that could not be processed: the connection fails, telling the peer for protocol errors. */
  protected onFrameError(error: unknown): void {
    let reason =
      error instanceof FabricError
        ? error
        : new FabricError('EPROTO', `cannot process a frame: ${String(error)}`);
    if (reason.code === 'EPROTO' && this.state === 'handshake') {
      reason = new FabricError(
        'EPROTO',
        `handshake with ${this.peerName} failed, is it a fabric-transport endpoint? ${reason.message}`,
      );
    }
    this.abort(reason, reason.code === 'EPROTO' || reason.code === 'EACCES');
  }

  /** An Error frame: for the whole connection (id 0), or for one pending operation. */
  protected onErrorFrame(header: FrameHeader, payload: Uint8Array): void {
    if (header.id === 0) {
      this.abort(decodeErrorFrame(header, payload, `${this.peerName} closed the connection`), false);
      return;
    }
    const operation = this.operations.take(header.id);
    if (!operation) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: error for unknown operation ${header.id}`,
      );
    }
    operation.reject(decodeErrorFrame(header, payload, `${this.peerName} refused ${operation.what}`));
  }

  /** Marks the connection closed and settles everything pending on it with `reason`. */
  protected fail(reason: FabricError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.failure = reason;
    clearTimeout(this.handshakeTimer);
    this.markFailed(reason);
    this.markClosed();
    this.releasePending(reason);
    this.userOperations.rejectAll(reason);
    this.operations.rejectAll(reason);
    for (const reject of this.unsettledSends) reject(reason);
    this.unsettledSends.clear();
    this.inbox.end(reason.code === 'ECLOSED' ? undefined : reason);
  }
}
