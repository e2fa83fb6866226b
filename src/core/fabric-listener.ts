import type { Connection } from '../api/connection.js';
import { FabricError } from '../api/errors.js';
import type { Listener } from '../api/listener.js';
import { AsyncQueue } from '../util/async-queue.js';

/** What accepts connections of one transport for a listener (a TCP server, an RDMA-CM listening id). */
export interface Acceptor {
  /** Stops accepting; connections already handed over stay open. */
  stop(): Promise<void>;
}

/** A connection still in its handshake. */
export interface IncomingConnection extends Connection {
  readonly ready: Promise<void>;
  readonly whenClosed: Promise<void>;
  /** Turns the peer away, telling it why. */
  refuse(reason: FabricError): void;
}

/**
 * A listener: one address and port, served by one acceptor per transport. Each accepted connection is
 * handed out once its handshake completed.
 */
export class FabricListener implements Listener {
  private readonly incoming = new AsyncQueue<Connection>('the listener is closed');
  private readonly handshaking = new Set<IncomingConnection>();
  private readonly acceptors: Acceptor[] = [];
  private closing: Promise<void> | undefined;
  /** Connections admitted and not closed yet, in their handshake or open. */
  private held = 0;

  constructor(
    readonly host: string,
    public port: number,
    private readonly maxConnections: number,
  ) {}

  get closed(): boolean {
    return this.closing !== undefined;
  }

  addAcceptor(acceptor: Acceptor): void {
    this.acceptors.push(acceptor);
  }

  /** Takes a connection from an acceptor: queued for accept() once its handshake completes. */
  admit(connection: IncomingConnection): void {
    if (this.closing) {
      void connection.close();
      return;
    }
    const full = this.refusal();
    if (full) {
      connection.refuse(full);
      return;
    }
    this.held++;
    void connection.whenClosed.then(() => this.held--);
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

  /** Why a new connection would be turned away now (the listener holds maxConnections), if it would. */
  refusal(): FabricError | undefined {
    if (this.held < this.maxConnections) return undefined;
    return new FabricError(
      'EBUSY',
      `the listener at ${this.host}:${this.port} holds its maximum of ${this.maxConnections} connections: try again later`,
    );
  }

  accept(): Promise<Connection> {
    return this.incoming.take();
  }

  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.incoming[Symbol.asyncIterator]();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.incoming.end();
      const dropped = [...this.incoming.clear(), ...this.handshaking];
      await Promise.all([
        ...this.acceptors.map((acceptor) => acceptor.stop()),
        ...dropped.map((connection) => connection.close()),
      ]);
    })();
    return this.closing;
  }
}
