import * as net from 'node:net';
import { AsyncQueue } from '../../async-queue.js';
import type { Connection } from '../../connection.js';
import { fromSocketError } from '../../errors.js';
import type { Listener } from '../../listener.js';
import type { ResolvedOptions } from '../../options.js';
import { TcpConnection } from './connection.js';

/** A TCP listening socket; each accepted socket completes the handshake before accept() hands it out. */
export class TcpListener implements Listener {
  private readonly incoming = new AsyncQueue<Connection>('the listener is closed');
  private readonly handshaking = new Set<TcpConnection>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: net.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  static async listen(host: string, port: number, options: ResolvedOptions): Promise<TcpListener> {
    // Paused, so that no byte is read before the handle moves into a socket that reads frame by frame.
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(fromSocketError(error, `${host}:${port}`)));
      server.listen(port, host, resolve);
    });
    const address = server.address() as net.AddressInfo;
    const listener = new TcpListener(server, host, address.port);
    server.on('connection', (socket) => listener.onSocket(socket, options));
    // Accept errors (e.g. out of file descriptors) must not crash the process; the listener keeps serving.
    server.on('error', (error) =>
      process.emitWarning(`fabric-transport listener ${host}:${address.port}: ${error.message}`),
    );
    return listener;
  }

  accept(): Promise<Connection> {
    return this.incoming.take();
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.incoming[Symbol.asyncIterator]();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.incoming.end();
      const dropped = [...this.incoming.clear(), ...this.handshaking];
      await Promise.all([stopped, ...dropped.map((connection) => connection.close())]);
    })();
    return this.closing;
  }

  private onSocket(socket: net.Socket, options: ResolvedOptions): void {
    const handle = (socket as unknown as { _handle: unknown })._handle;
    const peerName = `${socket.remoteAddress}:${socket.remotePort}`;
    (socket as unknown as { _handle: unknown })._handle = null;
    socket.destroy();
    if (!handle || this.closing) {
      if (handle) (handle as { close(): void }).close();
      return;
    }
    const connection = TcpConnection.accept(handle, options, peerName);
    this.handshaking.add(connection);
    connection.ready.then(
      () => {
        this.handshaking.delete(connection);
        if (this.closing) void connection.close();
        else this.incoming.push(connection);
      },
      () => this.handshaking.delete(connection),
    );
  }
}
