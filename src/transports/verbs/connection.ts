import { FabricError } from '../../api/errors.js';
import type { Region, RegionSlice } from '../../api/region.js';
import { BaseConnection } from '../../core/connection-base.js';
import { prepareOneSided } from '../../core/one-sided-request.js';
import type { ResolvedOptions } from '../../core/options.js';
import type { UserOperation } from '../../core/user-operations.js';
import { errorFrame } from '../../protocol/error-frame.js';
import { encodeHeader, type FrameHeader, FrameType } from '../../protocol/frame.js';
import type { Role } from '../../protocol/handshake-session.js';
import { completionError } from './errors.js';
import { FrameChannel } from './frame-channel.js';
import { Grants, type VerbsOperation } from './grants.js';
import { Messages } from './messages.js';
import type { EndpointEvent, NativeEndpoint } from './native.js';
import { OneSided } from './one-sided.js';
import { regionRegistration } from './registrations.js';
import { newEndpoint, QueuePair } from './setup.js';
import { Teardown } from './teardown.js';

export { CONNECT_MAGIC } from './setup.js';

/**
 * A fabric-transport connection over an RDMA reliable-connected queue pair set up by RDMA-CM: frames are
 * SENDs into pre-posted receive buffers under per-buffer credits, large messages are pulled by the receiver
 * with RDMA READ (rendezvous), and one-sided operations are RDMA WRITE / READ on registered memory
 * (docs/PROTOCOL.md, "Over RDMA"). It composes one part per concept and dispatches frames and events to them:
 * the queue pair and its CM events (setup.ts), frames and frame credit (frame-channel.ts), messages and
 * rendezvous (messages.ts), grants (grants.ts), one-sided operations (one-sided.ts), teardown (teardown.ts).
 */
export class VerbsConnection extends BaseConnection<VerbsOperation> {
  private readonly link: QueuePair;
  private readonly channel: FrameChannel;
  private readonly messages: Messages;
  private readonly grants: Grants;
  private readonly oneSided: OneSided;
  private readonly teardown: Teardown;

  private constructor(role: Role, options: ResolvedOptions, peerName: string, endpoint: NativeEndpoint) {
    super(role, options, peerName, options.receiveWindow);
    const state = () => this.state;
    const destroyed = () => this.teardown.destroyed;
    const queueUser = (operation: UserOperation) => this.queueUser(operation);
    const link = new QueuePair(endpoint, {
      peerName,
      options,
      state,
      created: () => this.channel.open(),
      established: () => {
        if (this.state === 'handshake') this.handshake.start();
      },
      lost: () => {
        this.fail(new FabricError('ECONNRESET', `the RDMA connection to ${peerName} was lost`));
        this.teardown.disconnected();
        this.teardown.start();
      },
      abort: (reason, tellPeer) => this.abort(reason, tellPeer),
    });
    const channel = new FrameChannel({
      link,
      credit: this.credit,
      state,
      destroyed,
      onFrame: (header, payload) => this.onFrame(header, payload),
      onCompletionError: (status) => this.abort(completionError(status, peerName), false),
      pumpUser: () => this.userOperations.pump(),
    });
    const { operations, unsettledSends } = this;
    this.messages = new Messages({
      link,
      channel,
      options,
      credit: this.credit,
      unsettledSends,
      state,
      destroyed,
      queueUser,
      deliver: (message) => this.inbox.push(message),
      abort: (reason) => this.abort(reason),
    });
    this.grants = new Grants({ connection: this, link, channel, operations, state });
    this.oneSided = new OneSided({
      peerName,
      link,
      grants: this.grants,
      operations,
      queueUser,
      pump: () => channel.pump(),
    });
    this.teardown = new Teardown(link, () => {
      channel.release();
      this.messages.release();
      this.grants.release();
    });
    this.link = link;
    this.channel = channel;
    endpoint.setCallback((event, ...args) => this.onEvent(event, args));
  }

  get transport(): 'roce' | 'ib' {
    return this.link.kind;
  }

  /**
   * Connects through RDMA-CM: address and route resolution, queue pair, connection, handshake. `expected` is
   * the forced kind, or undefined ('auto') for whichever the route gives, within a shorter deadline.
   */
  static async connect(
    host: string,
    port: number,
    options: ResolvedOptions,
    expected: 'roce' | 'ib' | undefined,
  ): Promise<VerbsConnection> {
    const connection = new VerbsConnection('client', options, `${host}:${port}`, newEndpoint());
    connection.link.connect(host, port, expected);
    await connection.ready;
    return connection;
  }

  /**
   * Takes an incoming connection request of a listener: queue pair, receive buffers, accept. Returns
   * undefined (the request rejected) when it is not a fabric-transport peer, arrives on a device or kind this
   * listener does not serve, or the queue pair cannot be made.
   */
  static accept(
    endpoint: NativeEndpoint,
    privateData: Uint8Array,
    options: ResolvedOptions,
    expected: 'roce' | 'ib' | undefined,
    peerName: string,
  ): VerbsConnection | undefined {
    const connection = new VerbsConnection('server', options, peerName, endpoint);
    return connection.link.accept(privateData, expected) ? connection : undefined;
  }

  async send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
    const { parts, length } = this.outgoingMessage(message);
    await this.messages.send(parts, length);
  }

  write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => {
      const request = prepareOneSided('write', source, remoteDescriptor, remoteOffset);
      return this.oneSided.start('write', request.slice, request.remote.key, remoteOffset);
    });
  }

  read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => {
      const request = prepareOneSided('read', target, remoteDescriptor, remoteOffset);
      return this.oneSided.start('read', request.slice, request.remote.key, remoteOffset);
    });
  }

  /**
   * @internal Registers `region` with this connection's device now rather than at its first use, as
   * `fabric-transport bench` does to time pinning; `reuse: false` pins anew even where the cache could serve.
   */
  registerOnDevice(region: Region, reuse = true): void {
    this.checkOpen();
    regionRegistration(region, this.link.endpoint, this.link.device, false, reuse);
  }

  close(): Promise<void> {
    this.abort(new FabricError('ECLOSED', 'the connection was closed by the application'));
    return this.teardown.done as Promise<void>;
  }

  // ---- dispatch -----------------------------------------------------------------------------------------------

  private onEvent(event: EndpointEvent, args: unknown[]): void {
    try {
      if (event === 'completions') this.channel.onCompletions(args[0] as Uint32Array);
      else this.link.onEvent(event, args);
    } catch (error) {
      this.onFrameError(error);
    }
  }

  private onFrame(header: FrameHeader, payload: Uint8Array): void {
    if (this.state === 'handshake') {
      this.onHandshakeFrame(header, Buffer.from(payload));
      return;
    }
    switch (header.type) {
      case FrameType.Message:
        this.messages.onMessage(header, payload);
        return;
      case FrameType.Rendezvous:
        this.messages.onRendezvous(header, payload);
        return;
      case FrameType.Credit:
        // Credit frames cost no credit (the receiver posts spare buffers for them), so none is owed back.
        this.channel.addCredit(header);
        return;
      case FrameType.RendezvousDone:
        this.messages.onTransferDone(header.id);
        return;
      case FrameType.KeyRequest:
        this.grants.onRequest(header);
        return;
      case FrameType.KeyGrant:
        this.grants.onGrant(header, payload);
        return;
      case FrameType.KeyRevoke:
        this.grants.onRevoke(header.key);
        return;
      case FrameType.KeyRevokeAck:
        this.grants.onRevokeAck(header.key);
        return;
      case FrameType.Error:
        this.onErrorFrame(header, Buffer.from(payload));
        return;
      default:
        throw new FabricError(
          'EPROTO',
          `protocol violation by the peer: frame type 0x${header.type.toString(16)} on an RDMA connection`,
        );
    }
  }

  // ---- the connection base's hooks ----------------------------------------------------------------------------

  protected sendHandshakeFrame(type: FrameType, payload: Uint8Array): void {
    this.channel.queueControl(encodeHeader({ type, length: payload.length }), [payload]);
  }

  protected consumed(message: Uint8Array): void {
    this.credit.consumed(message.length);
    // Returned at once when the application has caught up, else once half the window is owed.
    if (this.inbox.size === 0 || this.credit.owing >= this.options.receiveWindow / 2) {
      this.channel.scheduleCreditFlush();
    }
  }

  /** Fails the connection, then tells the peer why (when `tellPeer` and it is connected) and tears it down. */
  protected abort(reason: FabricError, tellPeer = true): void {
    const connected = this.state !== 'closed' && this.link.connected;
    this.link.failing(reason);
    this.fail(reason);
    if (tellPeer && connected) {
      // The last frame: it may take a spare buffer at the peer rather than wait for credit that never comes.
      const { header, text } = errorFrame(0, reason);
      this.channel.queueControl(encodeHeader(header), [text], true);
    }
    this.teardown.start();
  }

  protected override awaitsPeer(): boolean {
    return super.awaitsPeer() || this.messages.transferring;
  }

  protected pollOnce(micros: number): boolean {
    if (this.link.work === undefined || this.teardown.destroyed) return false;
    const completions = this.link.endpoint.pollCompletions(micros);
    if (completions.length > 0) this.onEvent('completions', [completions]);
    return true;
  }

  protected override releasePending(reason: FabricError): void {
    this.link.stopTimer();
    this.messages.rejectTransfers(reason);
  }

  private queueUser(operation: UserOperation): void {
    this.userOperations.push(operation);
    this.awaitingPeer();
  }
}
