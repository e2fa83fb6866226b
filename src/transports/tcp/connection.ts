import * as net from 'node:net';
import { FabricError } from '../../api/errors.js';
import { MessageCredit } from '../../core/message-credit.js';
import type { ResolvedOptions } from '../../core/options.js';
import type { FrameOutput } from '../../core/stream/frame-output.js';
import { StreamConnection } from '../../core/stream/stream-connection.js';
import { CAPABILITY_READ_AHEAD } from '../../protocol/handshake.js';
import type { Role } from '../../protocol/handshake-session.js';
import { DirectSocket } from './direct-socket.js';
import { FrameWriter } from './frame-writer.js';
import { SocketLifecycle } from './socket-lifecycle.js';
import { type OnRead, SocketReader } from './socket-reader.js';

/**
 * A fabric-transport connection over one TCP socket: the stream connection of the core (messages, credit,
 * one-sided operations emulated with frames) over the socket's reader and writer and its lifecycle, with a
 * send path straight to the kernel.
 */
export class TcpConnection extends StreamConnection {
  readonly transport = 'tcp' as const;
  private readonly reader: SocketReader;
  private readonly direct: DirectSocket;
  private readonly writer: FrameWriter;
  private readonly lifecycle: SocketLifecycle;
  private closedPromise: Promise<void> | undefined;

  private constructor(
    role: Role,
    options: ResolvedOptions,
    peerName: string,
    makeSocket: (onread: OnRead) => net.Socket,
  ) {
    super(role, options, peerName, CAPABILITY_READ_AHEAD);
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
  override send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
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
    return this.queuedSend(parts, length);
  }

  close(): Promise<void> {
    this.closedPromise ??= (() => {
      this.fail(new FabricError('ECLOSED', 'the connection was closed by this side'));
      this.lifecycle.shutdown();
      return this.lifecycle.closed;
    })();
    return this.closedPromise;
  }

  // ---- reading ahead, polling, the stream ------------------------------------------------------------------------

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

  protected get output(): FrameOutput {
    return this.writer;
  }

  protected teardown(): void {
    this.lifecycle.shutdown();
  }
}
