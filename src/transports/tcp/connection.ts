import * as net from 'node:net';
import { FabricError } from '../../api/errors.js';
import type { Region, RegionSlice } from '../../api/region.js';
import { counters } from '../../api/stats.js';
import { BaseConnection } from '../../core/connection-base.js';
import { MessageCredit } from '../../core/message-credit.js';
import type { ResolvedOptions } from '../../core/options.js';
import { errorFrame } from '../../protocol/error-frame.js';
import { type FrameHeader, FrameType, type HeaderFields } from '../../protocol/frame.js';
import type { DISCARD, FrameSink } from '../../protocol/frame-reader.js';
import { CAPABILITY_READ_AHEAD } from '../../protocol/handshake.js';
import type { Role } from '../../protocol/handshake-session.js';
import { CreditReturn } from './credit-return.js';
import { DirectSocket } from './direct-socket.js';
import { FrameWriter, type WriteDone } from './frame-writer.js';
import { beforeHandshake, HANDSHAKE_FRAMES, notAfterHandshake, OPEN_FRAMES } from './frames.js';
import { OneSidedInitiator, type TcpOperation } from './initiator.js';
import { OwnerAnswers } from './owner-answers.js';
import { SocketLifecycle } from './socket-lifecycle.js';
import { type OnRead, SocketReader } from './socket-reader.js';

/**
 * A fabric-transport connection over one TCP socket: handshake, messages with credit-based flow control,
 * and one-sided operations emulated with frames (docs/PROTOCOL.md). It is the frames' sink and composes the
 * parts: the reader and writer of the socket, its lifecycle, when credit goes back, and both sides of the
 * one-sided operations.
 */
export class TcpConnection extends BaseConnection<TcpOperation> implements FrameSink {
  readonly transport = 'tcp' as const;
  private readonly reader: SocketReader;
  private readonly direct: DirectSocket;
  private readonly writer: FrameWriter;
  private readonly lifecycle: SocketLifecycle;
  private readonly credits: CreditReturn;
  private readonly initiator: OneSidedInitiator;
  private readonly owner: OwnerAnswers;
  private closedPromise: Promise<void> | undefined;

  private constructor(
    role: Role,
    options: ResolvedOptions,
    peerName: string,
    makeSocket: (onread: OnRead) => net.Socket,
  ) {
    super(role, options, peerName, options.receiveWindow, CAPABILITY_READ_AHEAD);
    this.reader = new SocketReader(this, {
      isClosed: () => this.state === 'closed',
      onFrameError: (error) => this.onFrameError(error),
    });
    const socket = makeSocket(this.reader.onread);
    this.direct = new DirectSocket(socket);
    this.writer = new FrameWriter(socket, this.direct);
    this.lifecycle = new SocketLifecycle(socket, this.direct, options.keepalive, peerName, {
      state: () => this.state,
      heardPeer: () => this.handshake.peer !== undefined,
      atBoundary: () => this.reader.atBoundary,
      fail: (reason) => this.fail(reason),
    });
    const { maxMessageSize, receiveWindow, maxInFlight } = options;
    this.credits = new CreditReturn(
      this.credit,
      maxMessageSize,
      receiveWindow,
      this.writer,
      () => this.state === 'open',
    );
    this.initiator = new OneSidedInitiator(this.operations, this.writer, {
      enqueue: (emit, reject) => this.submit(0, emit, reject),
      awaitingPeer: () => this.awaitingPeer(),
    });
    this.owner = new OwnerAnswers(this.writer, {
      grantee: this,
      peerName,
      maxInFlight,
      drop: (reason) => this.abort(reason, false),
    });
    if (role === 'client') {
      socket.once('connect', () => {
        this.lifecycle.armKeepalive();
        this.handshake.start();
      });
    } else {
      this.lifecycle.armKeepalive();
    }
  }

  static async connect(host: string, port: number, options: ResolvedOptions): Promise<TcpConnection> {
    const connection = new TcpConnection('client', options, `${host}:${port}`, (onread) =>
      net.connect({ host, port, onread }),
    );
    await connection.ready;
    return connection;
  }

  /** Wraps an accepted socket's handle; the caller awaits `ready`. */
  static accept(handle: unknown, options: ResolvedOptions, peerName: string): TcpConnection {
    // node:net only honours `onread` for sockets it constructs, so the accepted handle moves into a new one.
    return new TcpConnection(
      'server',
      options,
      peerName,
      (onread) => new net.Socket({ handle, onread } as net.SocketConstructorOpts),
    );
  }

  // Not an async function: one promise per message, not three, on the path every round trip takes.
  send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
    let outgoing: { parts: readonly Uint8Array[]; length: number };
    try {
      outgoing = this.outgoingMessage(message);
    } catch (error) {
      return Promise.reject(error);
    }
    const { parts, length } = outgoing;
    const cost = MessageCredit.cost(length);
    const writer = this.writer;
    if (this.userOperations.clearFor(cost) && writer.writable()) {
      // The usual case, kept free of closures: credit is there and nothing waits before this message, so it
      // goes straight to the kernel; when the kernel takes the whole frame, the send settles at once.
      this.credit.spend(cost);
      const rest = writer.writeDirectly(this.messageHeader(length), parts);
      if (rest.length === 0) return Promise.resolve();
      return this.trackedSend((done) => writer.writeBySocket(rest, done));
    }
    return this.trackedSend((done) =>
      this.submit(cost, () => writer.writeFrame(this.messageHeader(length), parts, done), done),
    );
  }

  write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => this.initiator.write(source, remoteDescriptor, remoteOffset));
  }

  read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => this.initiator.read(target, remoteDescriptor, remoteOffset));
  }

  close(): Promise<void> {
    this.closedPromise ??= (() => {
      this.fail(new FabricError('ECLOSED', 'the connection was closed by this side'));
      this.lifecycle.shutdown();
      return this.lifecycle.closed;
    })();
    return this.closedPromise;
  }

  // ---- FrameSink: where payloads land, and what each frame does -------------------------------------------

  payloadTarget(header: FrameHeader): Uint8Array | undefined | typeof DISCARD {
    // Nothing of an unauthenticated peer's data frames is read, let alone written into a region.
    if (this.state !== 'open' && !HANDSHAKE_FRAMES.has(header.type)) throw beforeHandshake(header.type);
    switch (header.type) {
      case FrameType.Message:
        this.credits.charge(header.length);
        return undefined;
      case FrameType.Write:
        return this.owner.writeTarget(header);
      case FrameType.ReadResponse:
        return this.initiator.responseTarget(header);
      default:
        // Refused at its header, so that no peer leaves the connection waiting for a payload it never sends.
        if (this.state === 'open' && !OPEN_FRAMES.has(header.type)) throw notAfterHandshake(header.type);
        return undefined;
    }
  }

  onFrame(header: FrameHeader, payload: Uint8Array): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') {
      this.onHandshakeFrame(header, payload);
      return;
    }
    switch (header.type) {
      case FrameType.Message:
        if (header.length === 0) this.credits.charge(0);
        counters.messagesReceived++;
        counters.bytesReceived += header.length;
        this.addCredit(header.aux);
        this.inbox.push(payload);
        return;
      case FrameType.Credit:
        this.addCredit(header.aux);
        return;
      case FrameType.Write:
        this.owner.onWrite(header);
        return;
      case FrameType.ReadRequest:
        this.owner.onReadRequest(header);
        return;
      case FrameType.ReadResponse:
        counters.bytesReceived += header.length;
        this.initiator.settle(header, 'read');
        return;
      case FrameType.WriteAck:
        this.initiator.settle(header, 'write');
        return;
      case FrameType.Error:
        this.onErrorFrame(header, payload);
        return;
      default:
        throw notAfterHandshake(header.type);
    }
  }

  // ---- the handshake, polling, credit ------------------------------------------------------------------------

  protected sendHandshakeFrame(type: FrameType, payload: Uint8Array): void {
    this.writer.writeFrame({ type, length: payload.length }, [payload]);
  }

  protected override opened(): void {
    if (((this.handshake.peer?.capabilities ?? 0) & CAPABILITY_READ_AHEAD) !== 0) {
      this.writer.padPlacedPayloads();
      this.reader.readAhead();
    }
    if (this.options.pollMode !== 'event') this.reader.takeOver(this.direct);
  }

  protected pollOnce(micros: number): boolean {
    return this.reader.poll(micros);
  }

  protected consumed(message: Uint8Array): void {
    this.credits.consumed(message.length);
  }

  private addCredit(credit: number): void {
    if (credit === 0) return;
    this.credit.returned(credit);
    this.userOperations.pump();
  }

  /** Runs `emit` now or, behind earlier operations still waiting for credit, later: order is preserved. */
  private submit(cost: number, emit: () => void, reject: (error: Error) => void): void {
    this.userOperations.push({
      cost,
      start: () => {
        emit();
        return true;
      },
      reject,
    });
  }

  // ---- sends, and the end ------------------------------------------------------------------------------------

  /** The header of a message of `length` bytes, carrying the credit to return; counts the message as sent. */
  private messageHeader(length: number): HeaderFields {
    counters.messagesSent++;
    counters.bytesSent += length;
    return { type: FrameType.Message, length, aux: this.credit.takeOwed() };
  }

  /** A send() promise: `start` puts the message out and calls `done`, unless the connection fails first. */
  private trackedSend(start: (done: WriteDone) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.unsettledSends.add(reject);
      start((error) => {
        if (!this.unsettledSends.delete(reject)) return;
        if (error) reject(this.closeReason(error));
        else resolve();
      });
      // Waiting for credit, or for node:net to drain: in 'spin' and 'hybrid', poll for the peer's frames.
      if (this.unsettledSends.has(reject)) this.awaitingPeer();
    });
  }

  private closeReason(error: Error): FabricError {
    return (
      this.failure ?? new FabricError('ECONNRESET', `sending to ${this.peerName} failed: ${error.message}`)
    );
  }

  /** Fails the connection and tells the peer why (when `tellPeer`), then shuts the socket down. */
  protected abort(reason: FabricError, tellPeer = true): void {
    if (this.state === 'closed') return;
    if (tellPeer) {
      const { header, text } = errorFrame(0, reason);
      this.writer.writeFrame(header, [text]);
    }
    this.fail(reason);
    this.lifecycle.shutdown();
  }
}
