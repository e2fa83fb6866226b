import * as net from 'node:net';
import { AsyncQueue } from '../../async-queue.js';
import { type Connection, messageParts, prepareOneSided } from '../../connection.js';
import { errorCodeFromWire, errorCodeToWire, FabricError, fromSocketError } from '../../errors.js';
import { Fifo } from '../../fifo.js';
import type { ResolvedOptions } from '../../options.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../protocol/descriptor.js';
import {
  encodeHeader,
  type FrameHeader,
  FrameType,
  HEADER_SIZE,
  MAX_ERROR_TEXT,
} from '../../protocol/frame.js';
import { DISCARD, FrameReader, type FrameSink } from '../../protocol/frame-reader.js';
import {
  decodeHello,
  encodeHello,
  type Hello,
  newNonce,
  PROTOCOL_VERSION,
  proofMatches,
  tokenProof,
} from '../../protocol/handshake.js';
import { lookupRegion, type Region, type RegionSlice } from '../../region.js';
import { counters } from '../../stats.js';

type Role = 'client' | 'server';
type State = 'handshake' | 'open' | 'closed';

/** Extra window beyond one maximal message, so small messages keep flowing beside a large one. */
const WINDOW_SLACK = 1 << 20;
/** How long close() waits for the peer to finish the TCP shutdown before it resets the socket. */
const CLOSE_GRACE_MS = 1000;
const DRAIN = new Uint8Array(64 * 1024);

interface PendingOp {
  kind: 'write' | 'read';
  /** Where a read's response lands. */
  target: Uint8Array | undefined;
  resolve(): void;
  reject(error: Error): void;
}

interface Outgoing {
  /** Message credit the frame consumes (0 for one-sided requests). */
  cost: number;
  emit(): void;
}

const HANDSHAKE_FRAMES = new Set([FrameType.Hello, FrameType.Auth, FrameType.Ready, FrameType.Error]);

/** Operation ids are non-zero: id 0 in an Error frame means the whole connection. */
function checkOperationId(header: FrameHeader): void {
  if (header.id === 0) throw new FabricError('EPROTO', 'protocol violation by the peer: operation id 0');
}

type OnRead = { buffer: () => Uint8Array; callback: (count: number) => boolean };

/**
 * A fabric-transport connection over one TCP socket: handshake, messages with credit-based flow control,
 * and one-sided operations emulated with frames (docs/PROTOCOL.md).
 */
export class TcpConnection implements Connection, FrameSink {
  readonly transport = 'tcp' as const;
  /** Resolves when the handshake completed. */
  readonly ready: Promise<void>;
  private readonly socket: net.Socket;
  private readonly reader = new FrameReader(this);
  private readonly inbox: AsyncQueue<Uint8Array>;
  private readonly receiveWindow: number;
  private state: State = 'handshake';
  private peer: Hello | undefined;
  private readonly nonce = newNonce();
  private handshakeTimer: NodeJS.Timeout | undefined;
  private markReady!: () => void;
  private markFailed!: (error: FabricError) => void;

  /** Message bytes we may still send before the peer returns credit. */
  private sendCredit = 0;
  /** Message bytes the peer has sent that were not returned as credit yet. */
  private peerCreditUsed = 0;
  /** Bytes of consumed messages to return to the peer. */
  private creditToReturn = 0;
  private creditFlushScheduled = false;
  /** User operations in submission order, waiting for message credit. */
  private readonly outgoing = new Fifo<Outgoing>();
  /** Message bytes we sent that the peer has not returned as credit yet. */
  private creditInFlight = 0;
  private readonly pendingOps = new Map<number, PendingOp>();
  private readonly unsettledSends = new Set<(error: Error) => void>();
  private nextOpId = 1;
  /** Verdict of the owner-side checks for the Write frame being received. */
  private writeVerdict: Uint8Array | FabricError | undefined;
  private closedPromise: Promise<void> | undefined;
  private readonly socketClosed: Promise<void>;
  /** Why the connection closed, once it has. */
  private failure: FabricError | undefined;
  private destroyTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly role: Role,
    private readonly options: ResolvedOptions,
    private readonly peerName: string,
    makeSocket: (onread: OnRead) => net.Socket,
  ) {
    this.receiveWindow = options.maxMessageSize + HEADER_SIZE + WINDOW_SLACK;
    this.inbox = new AsyncQueue('the connection is closed', (message) => this.consumed(message));
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.markFailed = reject;
    });
    this.ready.catch(() => {});
    this.socket = makeSocket({
      // Once closed, bytes still arriving are drained (not parsed) until the peer's FIN completes the shutdown.
      buffer: () => (this.state === 'closed' ? DRAIN : this.reader.nextBuffer()),
      callback: (count) => {
        this.onBytes(count);
        return true;
      },
    });
    this.socketClosed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.setNoDelay(true);
    this.socket.on('error', (error) => this.fail(this.socketError(error)));
    this.socket.on('end', () => {
      this.fail(this.endReason());
      this.shutdown();
    });
    this.socket.on('close', () =>
      this.fail(new FabricError('ECONNRESET', `the connection to ${this.peerName} was lost`)),
    );
    this.handshakeTimer = setTimeout(
      () =>
        this.abort(
          new FabricError(
            'ETIMEDOUT',
            `the handshake with ${this.peerName} did not complete within ${options.handshakeTimeout} ms: ` +
              'is a fabric-transport peer listening there?',
          ),
        ),
      options.handshakeTimeout,
    );
    if (role === 'client') this.socket.once('connect', () => this.sendHello(PROTOCOL_VERSION));
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

  get closed(): boolean {
    return this.state === 'closed';
  }

  get peerMaxMessageSize(): number {
    return this.peer?.maxMessageSize ?? 0;
  }

  async send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
    this.checkOpen();
    const { parts, length } = messageParts(message);
    const peerMax = this.peerMaxMessageSize;
    if (length > peerMax) {
      throw new FabricError(
        'EMSGSIZE',
        `a message of ${length} bytes exceeds the peer's maxMessageSize of ${peerMax}: ` +
          'raise FABRIC_MAX_MESSAGE on the receiver, or move the data through a registered region',
      );
    }
    await new Promise<void>((resolve, reject) => {
      this.unsettledSends.add(reject);
      this.submit(length + HEADER_SIZE, () => {
        counters.messagesSent++;
        counters.bytesSent += length;
        const header = encodeHeader({ type: FrameType.Message, length, aux: this.takeCreditToReturn() });
        this.writeFrame(header, parts, (error) => {
          if (!this.unsettledSends.delete(reject)) return;
          if (error) reject(this.closeReason(error));
          else resolve();
        });
      });
    });
  }

  receive(): Promise<Uint8Array> {
    return this.inbox.take();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.inbox[Symbol.asyncIterator]();
  }

  async write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    this.checkOpen();
    const { slice, remote } = prepareOneSided('write', source, remoteDescriptor, remoteOffset);
    const bytes = slice.bytes;
    await this.startOp('write', undefined, (id) => {
      counters.writes++;
      counters.bytesSent += bytes.length;
      const header = encodeHeader({
        type: FrameType.Write,
        length: bytes.length,
        id,
        key: remote.key,
        offset: remoteOffset,
      });
      this.writeFrame(header, [bytes]);
    });
  }

  async read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    this.checkOpen();
    const { slice, remote } = prepareOneSided('read', target, remoteDescriptor, remoteOffset);
    await this.startOp('read', slice.bytes, (id) => {
      counters.reads++;
      const header = encodeHeader({
        type: FrameType.ReadRequest,
        id,
        aux: slice.length,
        key: remote.key,
        offset: remoteOffset,
      });
      this.writeFrame(header, []);
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
        else this.writeFrame(encodeHeader({ type: FrameType.WriteAck, id: header.id }), []);
        return;
      }
      case FrameType.ReadRequest: {
        checkOperationId(header);
        const verdict = this.remoteMemory(header.key, header.offset, header.aux, ACCESS_READ);
        if (verdict instanceof FabricError) {
          this.sendError(header.id, verdict);
        } else {
          counters.bytesSent += verdict.length;
          this.writeFrame(
            encodeHeader({ type: FrameType.ReadResponse, id: header.id, length: verdict.length }),
            [verdict],
          );
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

  private sendHello(version: number): void {
    const hello = encodeHello({
      version,
      capabilities: 0,
      maxMessageSize: this.options.maxMessageSize,
      receiveWindow: this.receiveWindow,
      token: this.options.token !== undefined,
      nonce: this.nonce,
    });
    this.writeFrame(encodeHeader({ type: FrameType.Hello, length: hello.length }), [hello]);
  }

  /**
   * client: Hello ->, <- Hello, Auth(proof) ->, <- Ready(proof). The client refuses a server whose token flag
   * differs from its own; the server checks the client's proof before it proves anything itself.
   */
  private onHandshakeFrame(header: FrameHeader, payload: Uint8Array): void {
    if (header.type === FrameType.Error) {
      this.onErrorFrame(header, payload);
      return;
    }
    const token = this.options.token;
    const step =
      this.peer === undefined ? FrameType.Hello : this.role === 'server' ? FrameType.Auth : FrameType.Ready;
    if (header.type !== step) {
      throw new FabricError(
        'EPROTO',
        `handshake failed: unexpected frame type 0x${header.type.toString(16)} from ${this.peerName}`,
      );
    }
    if (step === FrameType.Hello) {
      const peer = decodeHello(payload);
      if (this.role === 'client') this.checkServerHello(peer);
      this.peer = peer;
      this.sendCredit = peer.receiveWindow;
      if (this.role === 'server') {
        this.sendHello(Math.min(peer.version, PROTOCOL_VERSION));
      } else {
        const proof = token ? [tokenProof(token, 'client', this.nonce, peer.nonce)] : [];
        this.writeFrame(encodeHeader({ type: FrameType.Auth, length: proof[0]?.length ?? 0 }), proof);
      }
      return;
    }
    const peerNonce = (this.peer as Hello).nonce;
    const [clientNonce, serverNonce] =
      this.role === 'server' ? [peerNonce, this.nonce] : [this.nonce, peerNonce];
    const peerRole = this.role === 'server' ? 'client' : 'server';
    if (
      token
        ? !proofMatches(tokenProof(token, peerRole, clientNonce, serverNonce), payload)
        : payload.length > 0
    ) {
      throw new FabricError(
        'EACCES',
        token
          ? `${this.peerName} did not prove it holds the token: set the same FABRIC_TOKEN on both sides`
          : `${this.peerName} sent a token proof, but this side has no token: set the same FABRIC_TOKEN on both sides`,
      );
    }
    if (this.role === 'server') {
      const proof = token ? [tokenProof(token, 'server', clientNonce, serverNonce)] : [];
      this.writeFrame(encodeHeader({ type: FrameType.Ready, length: proof[0]?.length ?? 0 }), proof);
    }
    this.open();
  }

  /** The client accepts the version the server chose only if it speaks it, and a token flag like its own. */
  private checkServerHello(peer: Hello): void {
    if (peer.version !== PROTOCOL_VERSION) {
      throw new FabricError(
        'EPROTO',
        `${this.peerName} answered with protocol version ${peer.version}; this side speaks ${PROTOCOL_VERSION}`,
      );
    }
    const token = this.options.token !== undefined;
    if (peer.token && !token) {
      throw new FabricError(
        'EACCES',
        `${this.peerName} requires a token: set FABRIC_TOKEN or the token option`,
      );
    }
    if (!peer.token && token) {
      throw new FabricError(
        'EACCES',
        `${this.peerName} has no token set, but this side has one: set the same FABRIC_TOKEN on both sides`,
      );
    }
  }

  private open(): void {
    clearTimeout(this.handshakeTimer);
    this.state = 'open';
    this.markReady();
  }

  // ---- flow control -----------------------------------------------------------------------------------------

  private chargeMessage(header: FrameHeader): void {
    if (header.length > this.options.maxMessageSize) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: a ${header.length}-byte message exceeds maxMessageSize ${this.options.maxMessageSize}`,
      );
    }
    this.peerCreditUsed += header.length + HEADER_SIZE;
    if (this.peerCreditUsed > this.receiveWindow) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: it sent more message bytes than its credit allows',
      );
    }
  }

  /** A message was handed to the application: its bytes become credit for the peer. */
  private consumed(message: Uint8Array): void {
    this.creditToReturn += message.length + HEADER_SIZE;
    if (this.creditFlushScheduled) return;
    this.creditFlushScheduled = true;
    // Deferred so that a reply sent right after receive() carries the credit instead of an extra frame.
    setImmediate(() => {
      this.creditFlushScheduled = false;
      if (this.state !== 'open' || this.creditToReturn === 0) return;
      if (this.inbox.size === 0 || this.creditToReturn >= this.receiveWindow / 2) {
        this.writeFrame(encodeHeader({ type: FrameType.Credit, aux: this.takeCreditToReturn() }), []);
      }
    });
  }

  private takeCreditToReturn(): number {
    const credit = this.creditToReturn;
    this.creditToReturn = 0;
    this.peerCreditUsed -= credit;
    return credit;
  }

  private addCredit(credit: number): void {
    if (credit === 0) return;
    if (credit > this.creditInFlight) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: it returned more credit than it was sent',
      );
    }
    this.creditInFlight -= credit;
    this.sendCredit += credit;
    for (let next = this.outgoing.peek(); next && next.cost <= this.sendCredit; next = this.outgoing.peek()) {
      this.outgoing.shift();
      this.spend(next);
    }
  }

  /** Runs `emit` now or, behind earlier operations still waiting for credit, later: order is preserved. */
  private submit(cost: number, emit: () => void): void {
    if (this.outgoing.length === 0 && cost <= this.sendCredit) this.spend({ cost, emit });
    else this.outgoing.push({ cost, emit });
  }

  private spend(operation: Outgoing): void {
    this.sendCredit -= operation.cost;
    this.creditInFlight += operation.cost;
    operation.emit();
  }

  // ---- one-sided operations ---------------------------------------------------------------------------------

  private startOp(
    kind: 'write' | 'read',
    target: Uint8Array | undefined,
    emit: (id: number) => void,
  ): Promise<void> {
    while (this.pendingOps.has(this.nextOpId) || this.nextOpId === 0)
      this.nextOpId = (this.nextOpId + 1) >>> 0;
    const id = this.nextOpId;
    this.nextOpId = (this.nextOpId + 1) >>> 0;
    return new Promise((resolve, reject) => {
      this.pendingOps.set(id, { kind, target, resolve, reject });
      this.submit(0, () => emit(id));
    });
  }

  private pendingOp(header: FrameHeader, kind: 'write' | 'read'): PendingOp {
    const op = this.pendingOps.get(header.id);
    if (!op || op.kind !== kind || (op.target !== undefined && op.target.length !== header.length)) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: unexpected response for operation ${header.id}`,
      );
    }
    return op;
  }

  private settleOp(header: FrameHeader, kind: 'write' | 'read'): void {
    const op = this.pendingOp(header, kind);
    this.pendingOps.delete(header.id);
    op.resolve();
  }

  /** Owner-side checks of a peer's one-sided operation: the region's memory, or why not. */
  private remoteMemory(
    key: bigint,
    offset: number,
    length: number,
    access: number,
  ): Uint8Array | FabricError {
    const region = lookupRegion(key);
    if (!region?.permits(this)) {
      return new FabricError(
        'EACCES',
        'no region with this key is registered for this connection (deregistered, or not granted to it)',
      );
    }
    if ((region.accessBits & access) === 0) {
      return new FabricError(
        'EACCES',
        `the region does not allow remote ${access === ACCESS_WRITE ? 'write' : 'read'}`,
      );
    }
    if (offset + length > region.length) {
      return new FabricError(
        'ERANGE',
        `${length} bytes at offset ${offset} pass the end of the region (${region.length} bytes)`,
      );
    }
    return region.bytes.subarray(offset, offset + length);
  }

  private onErrorFrame(header: FrameHeader, payload: Uint8Array): void {
    const code = errorCodeFromWire(header.aux);
    const text = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8');
    if (header.id === 0) {
      this.abort(new FabricError(code, `${this.peerName} closed the connection: ${text}`), false);
      return;
    }
    const op = this.pendingOps.get(header.id);
    if (!op)
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: error for unknown operation ${header.id}`,
      );
    this.pendingOps.delete(header.id);
    op.reject(new FabricError(code, `${this.peerName} refused the ${op.kind}: ${text}`));
  }

  private sendError(id: number, error: FabricError): void {
    const text = Buffer.from(error.message.slice(0, MAX_ERROR_TEXT / 4), 'utf8');
    this.writeFrame(
      encodeHeader({ type: FrameType.Error, id, aux: errorCodeToWire(error.code), length: text.length }),
      [text],
    );
  }

  // ---- socket plumbing --------------------------------------------------------------------------------------

  private onBytes(count: number): void {
    if (this.state === 'closed') return;
    try {
      this.reader.onRead(count);
    } catch (error) {
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
  }

  private writeFrame(
    header: Buffer,
    parts: readonly Uint8Array[],
    done?: (error?: Error | null) => void,
  ): void {
    if (this.socket.destroyed || this.socket.writableEnded) {
      done?.(new Error('socket closed'));
      return;
    }
    const payload = parts.filter((part) => part.length > 0);
    if (payload.length === 0) {
      this.socket.write(header, done);
      return;
    }
    this.socket.cork();
    this.socket.write(header);
    for (let i = 0; i < payload.length - 1; i++) this.socket.write(payload[i] as Uint8Array);
    this.socket.write(payload[payload.length - 1] as Uint8Array, done);
    this.socket.uncork();
  }

  private checkOpen(): void {
    if (this.state !== 'open') {
      throw new FabricError(
        'ECLOSED',
        'the connection is closed',
        this.failure ? { cause: this.failure } : undefined,
      );
    }
  }

  private socketError(error: NodeJS.ErrnoException): FabricError {
    return this.state === 'handshake' && this.peer === undefined
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
  private abort(reason: FabricError, tellPeer = true): void {
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

  /** Marks the connection closed and settles everything pending on it with `reason`. */
  private fail(reason: FabricError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.failure = reason;
    clearTimeout(this.handshakeTimer);
    this.markFailed(reason);
    this.outgoing.drain();
    for (const op of this.pendingOps.values()) op.reject(reason);
    this.pendingOps.clear();
    for (const reject of this.unsettledSends) reject(reason);
    this.unsettledSends.clear();
    this.inbox.end(reason.code === 'ECLOSED' ? undefined : reason);
  }
}
