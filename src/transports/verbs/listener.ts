import { FabricError } from '../../api/errors.js';
import type { Acceptor, FabricListener } from '../../core/fabric-listener.js';
import type { ResolvedOptions } from '../../core/options.js';
import { VerbsConnection } from './connection.js';
import { rejection } from './errors.js';
import type { NativeEndpoint } from './native.js';
import { newEndpoint } from './setup.js';

const BACKLOG = 128;
const EADDRINUSE = 98;

/** An RDMA-CM listening id; each connection request becomes a connection handed to the listener. */
export class VerbsAcceptor implements Acceptor {
  private constructor(private readonly endpoint: NativeEndpoint) {}

  /** Listens on `host`:`port` (0: any free port) and returns the port bound. */
  static listen(
    listener: FabricListener,
    host: string,
    port: number,
    options: ResolvedOptions,
    expected: 'roce' | 'ib' | undefined,
  ): { acceptor: VerbsAcceptor; port: number } {
    const endpoint = newEndpoint();
    endpoint.setCallback((event, ...args) => {
      if (event === 'connect-request') {
        const [incoming, privateData] = args as [NativeEndpoint, Uint8Array];
        // Refused before it is accepted: its queue pair is not ready to receive a frame yet.
        const full = listener.refusal();
        if (full) {
          incoming.reject(rejection(full));
          incoming.destroy();
          return;
        }
        const connection = VerbsConnection.accept(
          incoming,
          privateData,
          options,
          expected,
          `an RDMA peer of ${host}:${bound}`,
        );
        if (connection) listener.admit(connection);
      } else {
        process.emitWarning(`fabric-transport RDMA listener ${host}:${bound}: ${event} ${args.join(' ')}`);
      }
    });
    let bound = port;
    try {
      bound = endpoint.listen(host, port, BACKLOG);
    } catch (error) {
      endpoint.destroy();
      const { errno, message } = error as { errno?: number; message: string };
      throw errno === EADDRINUSE
        ? new FabricError(
            'EADDRINUSE',
            `${host}:${port} is already in use for RDMA: pick another port, or port 0 for any`,
          )
        : new FabricError(
            'ENODEV',
            `cannot listen for RDMA connections on ${host}:${port} (${message}): is it the address of an RDMA device? See \`fabric-transport info\``,
          );
    }
    return { acceptor: new VerbsAcceptor(endpoint), port: bound };
  }

  stop(): Promise<void> {
    this.endpoint.destroy();
    return Promise.resolve();
  }
}
