import * as net from 'node:net';
import { FabricError, fromSocketError } from '../../api/errors.js';
import { checkRegionAccess, grantedRegion, type Region, type RegionSlice } from '../../api/region.js';
import { counters } from '../../api/stats.js';
import { BaseConnection } from '../../core/connection-base.js';
import { MessageCredit } from '../../core/message-credit.js';
import { prepareOneSided } from '../../core/one-sided-request.js';
import type { PendingOperation } from '../../core/operation-table.js';
import type { ResolvedOptions } from '../../core/options.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../protocol/descriptor.js';
import { errorFrame } from '../../protocol/error-frame.js';
import {
  carriesPlacedPayload,
  encodeHeaderInto,
  type FrameHeader,
  FrameType,
  HEADER_SIZE,
  type HeaderFields,
  READ_AHEAD_BYTES,
} from '../../protocol/frame.js';
import { DISCARD, FrameReader, type FrameSink } from '../../protocol/frame-reader.js';
import { CAPABILITY_READ_AHEAD } from '../../protocol/handshake.js';
import type { Role } from '../../protocol/handshake-session.js';
import { DirectSocket, READ_END } from './direct-socket.js';
import { TCP_FRAMES } from './frames.js';

/** How long close() waits for the peer to finish the TCP shutdown before it resets the socket. */
const CLOSE_GRACE_MS = 1000;
const DRAIN = new Uint8Array(64 * 1024);
/** What follows the header of a Write or ReadResponse to a peer that reads ahead (zeros, never written to). */
const PADDING = new Uint8Array(READ_AHEAD_BYTES - HEADER_SIZE);
/** What is left of a frame the kernel took whole. */
const NOTHING_LEFT: readonly Uint8Array[] = Object.freeze([]);
/** Answers beyond maxInFlight that may wait for a peer that does not read them (another side's limit, say). */
const UNREAD_ANSWERS_MARGIN = 64;
/** Reads per wake-up when the connection reads for itself, so that one busy peer cannot starve the loop. */
const READS_PER_WAKEUP = 64;

/** One of our writes or reads, waiting for the owner's answer. */
interface TcpOperation extends PendingOperation {
  kind: 'write' | 'read';
  /** Where a read's response lands. */
  target?: Uint8Array;
}

const HANDSHAKE_FRAMES = new Set([FrameType.Hello, FrameType.Auth, FrameType.Ready, FrameType.Error]);

/** Operation ids are non-zero: id 0 in an Error frame means the whole connection. */
function checkOperationId(header: FrameHeader): void {
  if (header.id === 0) throw new FabricError('EPROTO', 'protocol violation by the peer: operation id 0');
}

/** What is left of `parts` once their first `written` bytes went out (views, not copies). */
function unwritten(parts: Uint8Array[], written: number): Uint8Array[] {
  let skip = written;
  let first = 0;
  while (first < parts.length && skip >= (parts[first] as Uint8Array).length) {
    skip -= (parts[first] as Uint8Array).length;
    first++;
  }
  const rest = parts.slice(first);
  if (skip > 0) rest[0] = (rest[0] as Uint8Array).subarray(skip);
  return rest;
}

type OnRead = { buffer: () => Uint8Array; callback: (count: number) => boolean };

/**
 * A fabric-transport connection over one TCP socket: handshake, messages with credit-based flow control,
 * and one-sided operations emulated with frames (docs/PROTOCOL.md).
 */
export class TcpConnection extends BaseConnection<TcpOperation> implements FrameSink {
  readonly transport = 'tcp' as const;
  private readonly socket: net.Socket;
  private readonly direct: DirectSocket;
  private readonly reader = new FrameReader(this, TCP_FRAMES);
  /** Window bytes beyond one maximal message: while the peer has no more unreturned, it still has credit for any. */
  private readonly windowSlack: number;
  private creditFlushScheduled = false;
  /** Verdict of the owner-side checks for the Write frame being received. */
  private writeVerdict: Uint8Array | FabricError | undefined;
  private closedPromise: Promise<void> | undefined;
  private readonly socketClosed: Promise<void>;
  private destroyTimer: NodeJS.Timeout | undefined;
  /** Answers to the peer's operations not yet taken by the kernel: they pile up when the peer stops reading. */
  private answersUnread = 0;
  /** Whether this connection reads its socket itself ('spin' and 'hybrid' poll modes) instead of node:net. */
  private readsDirectly = false;
  /** Whether both sides read ahead: then Write and ReadResponse headers are padded (protocol/frame.ts). */
  private padded = false;
  /** Every outgoing header is encoded here: a direct write hands the kernel a copy before it returns. */
  private readonly headerBytes = Buffer.alloc(HEADER_SIZE);

  private constructor(
    role: Role,
    options: ResolvedOptions,
    peerName: string,
    makeSocket: (onread: OnRead) => net.Socket,
  ) {
    super(role, options, peerName, options.receiveWindow, CAPABILITY_READ_AHEAD);
    this.windowSlack = options.receiveWindow - options.maxMessageSize - HEADER_SIZE;
    this.socket = makeSocket({
      // Once closed, bytes still arriving are drained (not parsed) until the peer's FIN completes the shutdown.
      buffer: () => (this.state === 'closed' ? DRAIN : this.reader.nextBuffer()),
      callback: (count) => {
        this.onBytes(count);
        return true;
      },
    });
    this.direct = new DirectSocket(this.socket);
    this.socketClosed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.setNoDelay(true);
    this.socket.on('error', (error) => this.fail(this.socketError(error)));
    this.socket.on('end', () => {
      this.fail(this.endReason());
      this.shutdown();
    });
    this.socket.on('close', () => {
      this.direct.stopWatching();
      this.fail(new FabricError('ECONNRESET', `the connection to ${this.peerName} was lost`));
    });
    if (role === 'client') {
      this.socket.once('connect', () => {
        this.armKeepalive();
        this.handshake.start();
      });
    } else {
      this.armKeepalive();
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
    if (this.userOperations.clearFor(cost) && this.writable()) {
      // The usual case, kept free of closures: credit is there and nothing waits before this message, so it
      // goes straight to the kernel; when the kernel takes the whole frame, the send settles at once.
      this.credit.spend(cost);
      const rest = this.writeDirectly(this.messageHeader(length), parts);
      if (rest.length === 0) return Promise.resolve();
      return this.trackedSend((done) => this.writeBySocket(rest, done));
    }
    return this.trackedSend((done) =>
      this.submit(cost, () => this.writeFrame(this.messageHeader(length), parts, done)),
    );
  }

  write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => {
      const { slice, remote } = prepareOneSided('write', source, remoteDescriptor, remoteOffset);
      const bytes = slice.bytes;
      return this.startOp('write', undefined, (id) => {
        counters.writes++;
        counters.bytesSent += bytes.length;
        this.writeFrame(
          { type: FrameType.Write, length: bytes.length, id, key: remote.key, offset: remoteOffset },
          [bytes],
        );
      });
    });
  }

  read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => {
      const { slice, remote } = prepareOneSided('read', target, remoteDescriptor, remoteOffset);
      return this.startOp('read', slice.bytes, (id) => {
        counters.reads++;
        this.writeFrame(
          { type: FrameType.ReadRequest, id, aux: slice.length, key: remote.key, offset: remoteOffset },
          [],
        );
      });
    });
  }

  close(): Promise<void> {
    this.closedPromise ??= (() => {
      this.fail(new FabricError('ECLOSED', 'the connection was closed by this side'));
      this.shutdown();
      return this.socketClosed;
    })();
    return this.closedPromise;
  }

  // ---- FrameSink: where payloads land, and what each frame does -------------------------------------------

  payloadTarget(header: FrameHeader): Uint8Array | undefined | typeof DISCARD {
    if (this.state !== 'open' && !HANDSHAKE_FRAMES.has(header.type)) {
      // Nothing of an unauthenticated peer's data frames is read, let alone written into a region.
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: frame type 0x${header.type.toString(16)} before the handshake completed`,
      );
    }
    switch (header.type) {
      case FrameType.Message:
        this.chargeMessage(header);
        return undefined;
      case FrameType.Write: {
        checkOperationId(header);
        this.writeVerdict = this.remoteMemory(header.key, header.offset, header.length, ACCESS_WRITE);
        return this.writeVerdict instanceof FabricError ? DISCARD : this.writeVerdict;
      }
      case FrameType.ReadResponse:
        return this.pendingOp(header, 'read').target;
      default:
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
        if (header.length === 0) this.chargeMessage(header);
        counters.messagesReceived++;
        counters.bytesReceived += header.length;
        this.addCredit(header.aux);
        this.inbox.push(payload);
        return;
      case FrameType.Credit:
        this.addCredit(header.aux);
        return;
      case FrameType.Write: {
        checkOperationId(header);
        const verdict =
          header.length === 0
            ? this.remoteMemory(header.key, header.offset, 0, ACCESS_WRITE)
            : this.writeVerdict;
        this.writeVerdict = undefined;
        counters.bytesReceived += header.length;
        if (verdict instanceof FabricError) this.sendError(header.id, verdict);
        else this.writeAnswer({ type: FrameType.WriteAck, id: header.id }, []);
        return;
      }
      case FrameType.ReadRequest: {
        checkOperationId(header);
        const verdict = this.remoteMemory(header.key, header.offset, header.aux, ACCESS_READ);
        if (verdict instanceof FabricError) {
          this.sendError(header.id, verdict);
        } else {
          counters.bytesSent += verdict.length;
          this.writeAnswer({ type: FrameType.ReadResponse, id: header.id, length: verdict.length }, [
            verdict,
          ]);
        }
        return;
      }
      case FrameType.ReadResponse:
        counters.bytesReceived += header.length;
        this.settleOp(header, 'read');
        return;
      case FrameType.WriteAck:
        this.settleOp(header, 'write');
        return;
      case FrameType.Error:
        this.onErrorFrame(header, payload);
        return;
      default:
        throw new FabricError(
          'EPROTO',
          `protocol violation by the peer: frame type 0x${header.type.toString(16)} after the handshake`,
        );
    }
  }

  // ---- handshake --------------------------------------------------------------------------------------------

  protected sendHandshakeFrame(type: FrameType, payload: Uint8Array): void {
    this.writeFrame({ type, length: payload.length }, [payload]);
  }

  protected override opened(): void {
    if (((this.handshake.peer?.capabilities ?? 0) & CAPABILITY_READ_AHEAD) !== 0) {
      this.padded = true;
      this.reader.readAhead();
    }
    if (this.options.pollMode !== 'event') {
      this.readsDirectly = this.direct.takeOverReads(() => this.onReadable());
    }
  }

  // ---- flow control -----------------------------------------------------------------------------------------

  private chargeMessage(header: FrameHeader): void {
    if (header.length > this.options.maxMessageSize) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: a ${header.length}-byte message exceeds maxMessageSize ${this.options.maxMessageSize}`,
      );
    }
    this.credit.charge(header.length);
    if (this.credit.owing > 0) this.returnCreditIfShort();
  }

  /**
   * A message was handed to the application: its bytes become credit for the peer, carried by our next
   * Message. A Credit frame goes only once the peer could run short: while it has no more than windowSlack
   * bytes unreturned, it still has credit for any message we accept.
   */
  protected consumed(message: Uint8Array): void {
    this.credit.consumed(message.length);
    this.returnCreditIfShort();
  }

  /** Sends the consumed credit in a Credit frame if the peer could run short, unless a Message carries it first. */
  private returnCreditIfShort(): void {
    if (this.creditFlushScheduled || this.credit.peerHolds <= this.windowSlack) return;
    this.creditFlushScheduled = true;
    // Deferred so that a reply sent right after receive() carries the credit instead of an extra frame.
    setImmediate(() => {
      this.creditFlushScheduled = false;
      if (this.state !== 'open' || this.credit.owing === 0 || this.credit.peerHolds <= this.windowSlack)
        return;
      this.writeFrame({ type: FrameType.Credit, aux: this.credit.takeOwed() }, []);
    });
  }

  private addCredit(credit: number): void {
    if (credit === 0) return;
    this.credit.returned(credit);
    this.userOperations.pump();
  }

  /** Runs `emit` now or, behind earlier operations still waiting for credit, later: order is preserved. */
  private submit(cost: number, emit: () => void): void {
    this.userOperations.push({
      cost,
      start: () => {
        emit();
        return true;
      },
      // Sends reject through unsettledSends, one-sided operations through the operation table.
      reject: () => {},
    });
  }

  // ---- one-sided operations ---------------------------------------------------------------------------------

  private startOp(
    kind: 'write' | 'read',
    target: Uint8Array | undefined,
    emit: (id: number) => void,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const operation: TcpOperation = { kind, what: `the ${kind}`, resolve, reject };
      if (target) operation.target = target;
      const id = this.operations.add(operation);
      this.submit(0, () => emit(id));
      this.awaitingPeer();
    });
  }

  private pendingOp(header: FrameHeader, kind: 'write' | 'read'): TcpOperation {
    const op = this.operations.get(header.id);
    if (!op || op.kind !== kind || (op.target !== undefined && op.target.length !== header.length)) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: unexpected response for operation ${header.id}`,
      );
    }
    return op;
  }

  private settleOp(header: FrameHeader, kind: 'write' | 'read'): void {
    this.pendingOp(header, kind);
    this.operations.take(header.id)?.resolve();
  }

  /** Owner-side checks of a peer's one-sided operation: the region's memory, or why not. */
  private remoteMemory(
    key: bigint,
    offset: number,
    length: number,
    access: number,
  ): Uint8Array | FabricError {
    const region = grantedRegion(key, this);
    if (region instanceof FabricError) return region;
    return (
      checkRegionAccess(region.accessBits, region.length, offset, length, access) ??
      region.bytes.subarray(offset, offset + length)
    );
  }

  /** An Error frame: the answer to operation `id`, or (id 0) why this side closes the connection. */
  private sendError(id: number, error: FabricError): void {
    const { header, text } = errorFrame(id, error);
    if (id === 0) this.writeFrame(header, [text]);
    else this.writeAnswer(header, [text]);
  }

  // ---- socket plumbing --------------------------------------------------------------------------------------

  private onBytes(count: number): void {
    if (this.state === 'closed') return;
    try {
      this.reader.onRead(count);
    } catch (error) {
      this.onFrameError(error);
    }
  }

  /** The header of a message of `length` bytes, carrying the credit to return; counts the message as sent. */
  private messageHeader(length: number): HeaderFields {
    counters.messagesSent++;
    counters.bytesSent += length;
    return { type: FrameType.Message, length, aux: this.credit.takeOwed() };
  }

  /** A send() promise: `start` puts the message out and calls `done`, unless the connection fails first. */
  private trackedSend(start: (done: (error?: Error | null) => void) => void): Promise<void> {
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

  private writable(): boolean {
    return !this.socket.destroyed && !this.socket.writableEnded;
  }

  /** Puts a frame on the wire in order: straight to the socket when node:net holds nothing unsent. */
  private writeFrame(
    header: HeaderFields,
    parts: readonly Uint8Array[],
    done?: (error?: Error | null) => void,
  ): void {
    if (!this.writable()) {
      done?.(new Error('socket closed'));
      return;
    }
    const rest = this.writeDirectly(header, parts);
    if (rest.length === 0) done?.();
    else this.writeBySocket(rest, done);
  }

  /**
   * Encodes `header` and writes what the kernel takes of the frame now, without node:net (unless node:net
   * still holds earlier bytes): what is left, in order, for writeBySocket (empty when all went out).
   */
  private writeDirectly(header: HeaderFields, parts: readonly Uint8Array[]): readonly Uint8Array[] {
    const headerBytes = this.headerBytes;
    encodeHeaderInto(headerBytes, header);
    const frame: Uint8Array[] = [headerBytes];
    let bytes = HEADER_SIZE;
    if (this.padded && carriesPlacedPayload(header.type)) {
      frame.push(PADDING);
      bytes += PADDING.length;
    }
    for (const part of parts) {
      if (part.length === 0) continue;
      frame.push(part);
      bytes += part.length;
    }
    const written = this.direct.write(frame);
    if (written === bytes) return NOTHING_LEFT;
    const rest = written > 0 ? unwritten(frame, written) : frame;
    // The header buffer is the next frame's: node:net gets its own copy of what it must still write of it.
    if (rest[0]?.buffer === headerBytes.buffer) rest[0] = Uint8Array.prototype.slice.call(rest[0]);
    return rest;
  }

  /** Hands the rest of a frame to node:net, which writes it after whatever it holds, then calls `done`. */
  private writeBySocket(frame: readonly Uint8Array[], done?: (error?: Error | null) => void): void {
    if (frame.length === 1) {
      this.socket.write(frame[0] as Uint8Array, done);
      return;
    }
    this.socket.cork();
    for (let i = 0; i < frame.length - 1; i++) this.socket.write(frame[i] as Uint8Array);
    this.socket.write(frame[frame.length - 1] as Uint8Array, done);
    this.socket.uncork();
  }

  /**
   * Answers one of the peer's operations. A well-behaved peer has at most maxInFlight of them unsettled, so
   * it never leaves more answers than that unread; one that asks without reading is dropped with ENOBUFS.
   */
  private writeAnswer(header: HeaderFields, parts: readonly Uint8Array[]): void {
    if (this.answersUnread >= this.options.maxInFlight + UNREAD_ANSWERS_MARGIN) {
      this.abort(
        new FabricError(
          'ENOBUFS',
          `${this.peerName} does not read the answers to its operations (${this.answersUnread} wait, maxInFlight is ${this.options.maxInFlight})`,
        ),
        false,
      );
      return;
    }
    this.answersUnread++;
    this.writeFrame(header, parts, () => {
      this.answersUnread--;
    });
  }

  protected pollOnce(micros: number): boolean {
    return this.readsDirectly && this.readDirectly(micros) !== READ_END;
  }

  private onReadable(): void {
    for (let reads = 0; reads < READS_PER_WAKEUP && this.readsDirectly; reads++) {
      if (this.readDirectly(0) <= 0) return;
    }
    // More may wait, and after an error (a reset) libuv reports nothing more: carry on after the loop's turn.
    if (this.readsDirectly) setImmediate(() => this.onReadable());
  }

  /** One read of the connection's own: the bytes read, 0 when none came within `micros`, or READ_END. */
  private readDirectly(micros: number): number {
    const count = this.direct.read(this.state === 'closed' ? DRAIN : this.reader.nextBuffer(), micros);
    if (count > 0) {
      this.onBytes(count);
    } else if (count === READ_END) {
      // node:net reads the end of the stream (or meets the error) itself, as in 'event' mode.
      this.readsDirectly = false;
      this.direct.giveBackReads();
    }
    return count;
  }

  private armKeepalive(): void {
    if (this.options.keepalive > 0) this.direct.keepalive(this.options.keepalive);
  }

  private socketError(error: NodeJS.ErrnoException): FabricError {
    if (error.code === 'ETIMEDOUT' && this.state !== 'handshake' && this.options.keepalive > 0) {
      return new FabricError(
        'ETIMEDOUT',
        `${this.peerName} acknowledged nothing for ${this.options.keepalive} ms (keepalive): the link or its host is down`,
        { cause: error },
      );
    }
    return this.state === 'handshake' && this.handshake.peer === undefined
      ? fromSocketError(error, this.peerName)
      : new FabricError(
          'ECONNRESET',
          `the connection to ${this.peerName} was reset (${error.code ?? error.message})`,
          { cause: error },
        );
  }

  /** Why the peer's FIN ended the connection: a clean close only between frames, after the handshake. */
  private endReason(): FabricError {
    if (!this.reader.atBoundary) {
      return new FabricError(
        'ECONNRESET',
        `${this.peerName} closed the connection in the middle of a frame: did the peer crash?`,
      );
    }
    if (this.state === 'handshake') {
      return new FabricError(
        'ECONNRESET',
        `${this.peerName} closed the connection during the handshake: is it a fabric-transport listener?`,
      );
    }
    return new FabricError('ECLOSED', `${this.peerName} closed the connection`);
  }

  private closeReason(error: Error): FabricError {
    return (
      this.failure ?? new FabricError('ECONNRESET', `sending to ${this.peerName} failed: ${error.message}`)
    );
  }

  /** Fails the connection and tells the peer why (when `tellPeer`), then shuts the socket down. */
  protected abort(reason: FabricError, tellPeer = true): void {
    if (this.state === 'closed') return;
    if (tellPeer) this.sendError(0, reason);
    this.fail(reason);
    this.shutdown();
  }

  /** Ends the socket; a peer that does not finish the shutdown in time (not reading, say) is reset. */
  private shutdown(): void {
    this.socket.end();
    if (this.destroyTimer || this.socket.destroyed) return;
    this.destroyTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    this.socket.once('close', () => clearTimeout(this.destroyTimer));
  }
}
