import { FabricError } from '../../api/errors.js';
import type { ConnectionState } from '../../core/connection-base.js';
import type { ResolvedOptions } from '../../core/options.js';
import { connectError, nativeFailure } from './errors.js';
import { RECEIVE_ID_BASE } from './frame-channel.js';
import { RECEIVE_BUFFERS } from './frames.js';
import { type EndpointEvent, type NativeEndpoint, type VerbsNative, verbsNative } from './native.js';
import { gidSourceAddress, routeKind } from './routes.js';
import { WorkQueue } from './work-queue.js';

/** Send work requests in flight at once (frames and RDMA operations). */
const SEND_DEPTH = 128;
/** With transport 'auto', how long an RDMA connection may take to establish before TCP is tried instead. */
const AUTO_ESTABLISH_MS = 5000;
/** Private data of a connection request: "FBRC" then the protocol version. */
export const CONNECT_MAGIC = Buffer.from('FBRC\x01', 'latin1');

/** Errors that ended an RDMA connection before it was established: with 'auto', TCP is tried instead. */
const failedEarly = new WeakSet<Error>();

/** Whether `error` ended an RDMA connection attempt before it was established (so TCP may be tried). */
export function failedBeforeEstablished(error: unknown): boolean {
  return error instanceof Error && failedEarly.has(error);
}

/** A new cm_id; a host where RDMA-CM cannot be used (no /dev/infiniband/rdma_cm, say) gets ENODEV. */
export function newEndpoint(): NativeEndpoint {
  const Endpoint = (verbsNative() as VerbsNative).Endpoint as NonNullable<VerbsNative['Endpoint']>;
  try {
    return new Endpoint(() => {});
  } catch (error) {
    const reason = new FabricError('ENODEV', `RDMA-CM cannot be used here: ${(error as Error).message}`, {
      cause: error,
    });
    failedEarly.add(reason);
    throw reason;
  }
}

/** What the queue pair needs of its connection. */
export interface QueuePairOwner {
  readonly peerName: string;
  readonly options: ResolvedOptions;
  state(): ConnectionState;
  /** The queue pair exists: the frame buffers may be registered and the receives posted. */
  created(): void;
  /** RDMA-CM established the connection: the handshake may start. */
  established(): void;
  /** The peer disconnected. */
  lost(): void;
  abort(reason: FabricError, tellPeer?: boolean): void;
}

/**
 * The RDMA-CM id and its queue pair: address and route resolution (connecting side) or the connection
 * request (accepting side), the queue pair and its send queue, the establish deadline and the CM events.
 */
export class QueuePair {
  private linkKind: 'roce' | 'ib' = 'roce';
  private deviceName = '';
  private queue: WorkQueue | undefined;
  private isEstablished = false;
  private isDisconnected = false;
  private establishTimer: NodeJS.Timeout | undefined;
  private onRouteResolved: (() => void) | undefined;

  constructor(
    readonly endpoint: NativeEndpoint,
    private readonly owner: QueuePairOwner,
  ) {}

  get kind(): 'roce' | 'ib' {
    return this.linkKind;
  }

  get device(): string {
    return this.deviceName;
  }

  /** The send queue, once the queue pair exists. */
  get work(): WorkQueue | undefined {
    return this.queue;
  }

  get established(): boolean {
    return this.isEstablished;
  }

  get disconnected(): boolean {
    return this.isDisconnected;
  }

  /** Whether the peer is still connected: established, not disconnected. */
  get connected(): boolean {
    return this.isEstablished && !this.isDisconnected;
  }

  /** Records that `reason` ends the connection: with 'auto', TCP may be tried if it was not established. */
  failing(reason: FabricError): void {
    if (!this.isEstablished && this.owner.state() !== 'closed') failedEarly.add(reason);
  }

  /**
   * Starts connecting through RDMA-CM to `host`:`port`: address and route resolution, then the queue pair
   * and the connection. `expected` is the forced kind, or undefined ('auto') for whichever the route gives,
   * within a shorter deadline.
   */
  connect(host: string, port: number, expected: 'roce' | 'ib' | undefined): void {
    const { options } = this.owner;
    try {
      this.onRouteResolved = () => this.routeResolved(expected);
      const deadline = expected
        ? options.handshakeTimeout
        : Math.min(options.handshakeTimeout, AUTO_ESTABLISH_MS);
      this.establishTimer = setTimeout(
        () =>
          this.owner.abort(
            new FabricError(
              'ETIMEDOUT',
              `no RDMA connection to ${host}:${port} within ${deadline} ms: is the peer listening there over RDMA?`,
            ),
          ),
        deadline,
      );
      this.endpoint.resolve(host, port, Math.min(deadline, 5000), gidSourceAddress(options));
    } catch (error) {
      this.owner.abort(nativeFailure(error, `RDMA connection to ${host}:${port} failed`));
    }
  }

  /**
   * Takes a connection request: queue pair, receive buffers, accept. False (the request rejected) when it is
   * not a fabric-transport peer, arrives on a device or kind this listener does not serve, or the queue pair
   * cannot be made.
   */
  accept(privateData: Uint8Array, expected: 'roce' | 'ib' | undefined): boolean {
    const { endpoint } = this;
    const { options, peerName } = this.owner;
    const kind = routeKind(endpoint.deviceName() ?? '', endpoint.portNumber() ?? 0, options);
    const ours = Buffer.from(privateData).subarray(0, CONNECT_MAGIC.length).equals(CONNECT_MAGIC);
    try {
      if (!ours || (kind !== 'roce' && kind !== 'ib') || (expected !== undefined && kind !== expected)) {
        throw new FabricError('EPROTO', `refused an RDMA connection request from ${peerName}`);
      }
      this.create(kind);
      endpoint.accept(new Uint8Array(0));
      // rdma_accept leaves the queue pair ready to send; a frame may arrive before the ESTABLISHED event.
      this.isEstablished = true;
    } catch (error) {
      endpoint.reject();
      this.owner.abort(nativeFailure(error, `cannot accept ${peerName}`));
      return false;
    }
    return true;
  }

  /** An RDMA-CM event (completions go to the frame channel). */
  onEvent(event: EndpointEvent, args: unknown[]): void {
    switch (event) {
      case 'route-resolved':
        this.onRouteResolved?.();
        return;
      case 'established':
        this.isEstablished = true;
        clearTimeout(this.establishTimer);
        this.owner.established();
        return;
      case 'disconnected':
        this.isDisconnected = true;
        this.owner.lost();
        return;
      default:
        // rejected, error: the connection attempt (or the connection) is over.
        this.owner.abort(connectError(event, args, this.owner.peerName), false);
    }
  }

  /** The connection is over: the establish deadline no longer applies. */
  stopTimer(): void {
    clearTimeout(this.establishTimer);
  }

  private routeResolved(expected: 'roce' | 'ib' | undefined): void {
    const { options, peerName } = this.owner;
    const device = this.endpoint.deviceName() ?? '';
    const kind = routeKind(device, this.endpoint.portNumber() ?? 0, options);
    if (kind !== 'roce' && kind !== 'ib') {
      throw new FabricError('ENODEV', `cannot use the RDMA route to ${peerName}: ${kind}`);
    }
    if (expected !== undefined && kind !== expected) {
      const names = { ib: 'InfiniBand', roce: 'RoCE' };
      throw new FabricError(
        'ENODEV',
        `${peerName} is reached through ${device}, a ${names[kind]} device, not ${names[expected]}`,
      );
    }
    try {
      this.create(kind);
      this.endpoint.connect(CONNECT_MAGIC);
    } catch (error) {
      throw nativeFailure(error, `cannot set up the RDMA connection to ${peerName}`);
    }
  }

  private create(kind: 'roce' | 'ib'): void {
    this.linkKind = kind;
    this.deviceName = this.endpoint.deviceName() ?? '';
    const maxInline = this.endpoint.setup(SEND_DEPTH, RECEIVE_BUFFERS, 64);
    this.queue = new WorkQueue(this.endpoint, SEND_DEPTH, RECEIVE_ID_BASE, maxInline, (errno) => {
      if (this.owner.state() !== 'closed') {
        this.owner.abort(
          new FabricError('ECONNRESET', `the RDMA device refused a send (errno ${errno})`),
          false,
        );
      }
    });
    this.owner.created();
  }
}
