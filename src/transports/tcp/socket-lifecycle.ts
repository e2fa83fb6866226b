import type * as net from 'node:net';
import { FabricError, fromSocketError } from '../../api/errors.js';
import type { ConnectionState } from '../../core/connection-base.js';
import type { DirectSocket } from './direct-socket.js';

/** How long close() waits for the peer to finish the TCP shutdown before it resets the socket. */
const CLOSE_GRACE_MS = 1000;

/** What the socket's life needs to know of its connection. */
export interface LifecycleLink {
  state(): ConnectionState;
  /** Whether the peer's HELLO arrived. */
  heardPeer(): boolean;
  /** Whether the reader is between frames (a FIN there is a clean close). */
  atBoundary(): boolean;
  /** Fails the connection with `reason`; once it failed, later calls do nothing. */
  fail(reason: FabricError): void;
}

/**
 * A connection's socket beside its data: TCP_NODELAY and keepalive, the reason the connection fails when the
 * socket errs, the peer's FIN arrives or the socket closes, and the shutdown, which resets a peer that does
 * not finish it within CLOSE_GRACE_MS.
 */
export class SocketLifecycle {
  /** Resolves once the socket closed. */
  readonly closed: Promise<void>;
  private destroyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly direct: DirectSocket,
    private readonly keepaliveMillis: number,
    private readonly peerName: string,
    private readonly link: LifecycleLink,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('error', (error) => link.fail(this.errorReason(error)));
    socket.on('end', () => {
      link.fail(this.endReason());
      this.shutdown();
    });
    socket.on('close', () => {
      direct.stopWatching();
      link.fail(new FabricError('ECONNRESET', `the connection to ${peerName} was lost`));
    });
  }

  /** Arms keepalive, once connected: the peer must acknowledge within `keepalive` ms, idle or not. */
  armKeepalive(): void {
    if (this.keepaliveMillis > 0) this.direct.keepalive(this.keepaliveMillis);
  }

  /** Ends the socket; a peer that does not finish the shutdown in time (not reading, say) is reset. */
  shutdown(): void {
    this.socket.end();
    if (this.destroyTimer || this.socket.destroyed) return;
    this.destroyTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    this.socket.once('close', () => clearTimeout(this.destroyTimer));
  }

  private errorReason(error: NodeJS.ErrnoException): FabricError {
    const state = this.link.state();
    if (error.code === 'ETIMEDOUT' && state !== 'handshake' && this.keepaliveMillis > 0) {
      return new FabricError(
        'ETIMEDOUT',
        `${this.peerName} acknowledged nothing for ${this.keepaliveMillis} ms (keepalive): the link or its host is down`,
        { cause: error },
      );
    }
    return state === 'handshake' && !this.link.heardPeer()
      ? fromSocketError(error, this.peerName)
      : new FabricError(
          'ECONNRESET',
          `the connection to ${this.peerName} was reset (${error.code ?? error.message})`,
          { cause: error },
        );
  }

  /** Why the peer's FIN ended the connection: a clean close only between frames, after the handshake. */
  private endReason(): FabricError {
    if (!this.link.atBoundary()) {
      return new FabricError(
        'ECONNRESET',
        `${this.peerName} closed the connection in the middle of a frame: did the peer crash?`,
      );
    }
    if (this.link.state() === 'handshake') {
      return new FabricError(
        'ECONNRESET',
        `${this.peerName} closed the connection during the handshake: is it a fabric-transport listener?`,
      );
    }
    return new FabricError('ECLOSED', `${this.peerName} closed the connection`);
  }
}
