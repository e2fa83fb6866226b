import * as net from 'node:net';
import { fromSocketError } from '../../api/errors.js';
import type { Acceptor, FabricListener } from '../../core/fabric-listener.js';
import type { ResolvedOptions } from '../../core/options.js';
import { TcpConnection } from './connection.js';

/** A TCP listening socket; each accepted socket's connection goes to the listener for its handshake. */
export class TcpAcceptor implements Acceptor {
  private constructor(private readonly server: net.Server) {}

  /** Listens on `host`:`port` (0: any free port) and returns the port bound. */
  static async listen(
    listener: FabricListener,
    host: string,
    port: number,
    options: ResolvedOptions,
  ): Promise<{ acceptor: TcpAcceptor; port: number }> {
    // Paused, so that no byte is read before the handle moves into a socket that reads frame by frame.
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(fromSocketError(error, `${host}:${port}`)));
      server.listen(port, host, resolve);
    });
    const bound = (server.address() as net.AddressInfo).port;
    server.on('connection', (socket) => TcpAcceptor.onSocket(listener, socket, options));
    // Accept errors (e.g. out of file descriptors) must not crash the process; the listener keeps serving.
    server.on('error', (error) =>
      process.emitWarning(`fabric-transport listener ${host}:${bound}: ${error.message}`),
    );
    return { acceptor: new TcpAcceptor(server), port: bound };
  }

  stop(): Promise<void> {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private static onSocket(listener: FabricListener, socket: net.Socket, options: ResolvedOptions): void {
    const handle = (socket as unknown as { _handle: unknown })._handle;
    const peerName = `${socket.remoteAddress}:${socket.remotePort}`;
    (socket as unknown as { _handle: unknown })._handle = null;
    socket.destroy();
    if (!handle || listener.closed) {
      if (handle) (handle as { close(): void }).close();
      return;
    }
    listener.admit(TcpConnection.accept(handle, options, peerName));
  }
}
