import { FabricError } from '../../api/errors.js';
import { checkRegionAccess, grantedRegion, type Region, type RegionSlice } from '../../api/region.js';
import { counters } from '../../api/stats.js';
import { BaseConnection } from '../../core/connection-base.js';
import { MessageCredit } from '../../core/message-credit.js';
import { prepareOneSided } from '../../core/one-sided-request.js';
import type { PendingOperation } from '../../core/operation-table.js';
import type { ResolvedOptions } from '../../core/options.js';
import type { UserOperation } from '../../core/user-operations.js';
import { ACCESS_READ, ACCESS_WRITE, decodeDescriptor } from '../../protocol/descriptor.js';
import { errorFrame } from '../../protocol/error-frame.js';
import {
  decodeHeader,
  encodeHeader,
  type FrameHeader,
  FrameType,
  HEADER_SIZE,
} from '../../protocol/frame.js';
import type { Role } from '../../protocol/handshake-session.js';
import { Fifo } from '../../util/fifo.js';
import { completionError, connectError } from './errors.js';
import {
  decodeSegments,
  EAGER_LIMIT,
  encodeSegments,
  FRAME_BYTES,
  MAX_SEGMENTS,
  RDMA_FRAMES,
  RECEIVE_BUFFERS,
  RECEIVE_CREDITS,
  type Segment,
} from './frames.js';
import {
  type EndpointEvent,
  type NativeEndpoint,
  type NativeMemoryRegion,
  type VerbsNative,
  verbsNative,
} from './native.js';
import {
  type DeviceRegistration,
  LOCAL_WRITE,
  REMOTE_READ,
  regionRegistration,
  registerMemory,
} from './registrations.js';
import { gidSourceAddress, routeKind } from './routes.js';
import { OP_READ, OP_SEND, OP_WRITE, WorkQueue } from './work-queue.js';

/** Send work requests in flight at once (frames and RDMA operations). */
const SEND_DEPTH = 128;
/** Frame slots of the send buffer: frames being sent, copied there first. */
const SEND_SLOTS = 64;
/** Frame credits kept back from messages, so that control frames (grants, rendezvous completions) always go. */
const MESSAGE_RESERVE = 4;
/** Unreturned frame credits that make the receiver send a Credit frame even when nothing asks for it sooner. */
const CREDIT_BATCH = RECEIVE_CREDITS / 4;
/** Work request ids from here on are receive buffers; below, send work. */
const RECEIVE_ID_BASE = 0x8000_0000;
/** The largest single RDMA WRITE/READ work request (InfiniBand's limit is 2^31; NICs often allow less). */
const CHUNK_BYTES = 1 << 30;
/** How long close() waits, in all, for posted sends to complete and for the peer's disconnect. */
const CLOSE_GRACE_MS = 1000;
/** With transport 'auto', how long an RDMA connection may take to establish before TCP is tried instead. */
const AUTO_ESTABLISH_MS = 5000;
/** Private data of a connection request: "FBRC" then the protocol version. */
export const CONNECT_MAGIC = Buffer.from('FBRC\x01', 'latin1');

/** Errors that ended an RDMA connection before it was established: with 'auto', TCP is tried instead. */
const failedBeforeEstablished = new WeakSet<Error>();

/** A FabricError for a native call that failed (errno ENOMEM: the locked-memory limit, most likely). */
function nativeFailure(error: unknown, what: string): FabricError {
  if (error instanceof FabricError) return error;
  const { errno, message } = error as { errno?: number; message?: string };
  const ENOMEM = 12;
  return new FabricError(errno === ENOMEM ? 'ENOMEM' : 'ECONNRESET', `${what}: ${message ?? String(error)}`, {
    cause: error,
  });
}

interface OutgoingFrame {
  header: Buffer;
  payload: readonly Uint8Array[];
  /** Payload bytes. */
  length: number;
  /** Whether the header carries returned credit (Message, Rendezvous, Credit: aux bytes, key frames). */
  carriesCredit: boolean;
  /** Message bytes it costs against the peer's receive window (messages only). */
  bytes: number;
  /** Whether it costs no frame credit (Credit frames, the final Error frame). */
  free?: boolean;
  /** The frame is in the send buffer: a message's memory may be reused. */
  onPosted?: () => void;
}

/** A message received, in arrival order; a rendezvous one is ready once pulled. */
interface Arrival {
  bytes: Uint8Array;
  ready: boolean;
}

/** Our rendezvous message, until the peer has pulled it. */
interface Transfer {
  resolve(): void;
  reject(error: Error): void;
}

/** What the owner of a region answered to KeyRequest. */
interface Grant {
  address: bigint;
  rkey: number;
  length: number;
  access: number;
}

/** One of our writes, reads or grant requests, waiting for its completion or the owner's answer. */
interface VerbsOperation extends PendingOperation {
  kind: 'write' | 'read' | 'grant';
  /** A grant request's answer. */
  granted?: Grant;
}

/**
 * A fabric-transport connection over an RDMA reliable-connected queue pair set up by RDMA-CM: frames are
 * SENDs into pre-posted receive buffers under per-buffer credits, large messages are pulled by the receiver
 * with RDMA READ (rendezvous), and one-sided operations are RDMA WRITE / READ on registered memory
 * (docs/PROTOCOL.md, "Over RDMA").
 */
export class VerbsConnection extends BaseConnection<VerbsOperation> {
  private kind: 'roce' | 'ib' = 'roce';
  private readonly endpoint: NativeEndpoint;
  private device = '';
  private readonly receiveWindow: number;
  private readonly receiveBuffers = new Uint8Array(RECEIVE_BUFFERS * FRAME_BYTES);
  private readonly sendBuffers = new Uint8Array(SEND_SLOTS * FRAME_BYTES);
  private receiveRegistration: NativeMemoryRegion | undefined;
  private sendRegistration: NativeMemoryRegion | undefined;
  private readonly freeSlots = Array.from({ length: SEND_SLOTS }, (_, i) => SEND_SLOTS - 1 - i);
  private work: WorkQueue | undefined;
  private established = false;
  private disconnected = false;
  private destroyed = false;
  private establishTimer: NodeJS.Timeout | undefined;

  /** Frames (other than Credit frames) we may still send before the peer returns frame credit. */
  private frameCredit = RECEIVE_CREDITS;
  /** Frames received (other than Credit frames) whose credit was not returned yet. */
  private peerFramesUsed = 0;
  /** Credit of handled frames and of messages the application took, to return to the peer. */
  private framesToReturn = 0;
  private creditFlushScheduled = false;
  /** A Credit frame is due but had no send slot yet. */
  private creditFlushWanted = false;
  private readonly controlFrames = new Fifo<OutgoingFrame>();

  /** Our rendezvous messages the peer has not pulled yet. */
  private readonly transfers = new Map<number, Transfer>();
  private nextTransferId = 1;
  /** Registrations the peer may still read from after a failure: released once the queue pair is gone. */
  private readonly lingering: NativeMemoryRegion[] = [];
  private readonly arrivals = new Fifo<Arrival>();
  private readonly pulls = new Set<NativeMemoryRegion>();

  /** Grants of the peer's regions by key. */
  private readonly grants = new Map<bigint, Promise<Grant>>();
  /** Our regions granted to the peer, by key. */
  private readonly granted = new Map<bigint, DeviceRegistration>();
  /** Revocations sent to the peer, waiting for its acknowledgement, by key. */
  private readonly revoking = new Map<bigint, () => void>();
  private closing: Promise<void> | undefined;
  private onDisconnected: (() => void) | undefined;
  private onRouteResolved: (() => void) | undefined;

  private constructor(role: Role, options: ResolvedOptions, peerName: string, endpoint: NativeEndpoint) {
    super(role, options, peerName, options.receiveWindow);
    this.receiveWindow = options.receiveWindow;
    this.endpoint = endpoint;
    endpoint.setCallback((event, ...args) => this.onEvent(event, args));
  }

  /** A new cm_id; a host where RDMA-CM cannot be used (no /dev/infiniband/rdma_cm, say) gets ENODEV. */
  static newEndpoint(): NativeEndpoint {
    const Endpoint = (verbsNative() as VerbsNative).Endpoint as NonNullable<VerbsNative['Endpoint']>;
    try {
      return new Endpoint(() => {});
    } catch (error) {
      const reason = new FabricError('ENODEV', `RDMA-CM cannot be used here: ${(error as Error).message}`, {
        cause: error,
      });
      failedBeforeEstablished.add(reason);
      throw reason;
    }
  }

  get transport(): 'roce' | 'ib' {
    return this.kind;
  }

  /** Whether `error` ended an RDMA connection attempt before it was established (so TCP may be tried). */
  static failedBeforeEstablished(error: unknown): boolean {
    return error instanceof Error && failedBeforeEstablished.has(error);
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
    const connection = new VerbsConnection(
      'client',
      options,
      `${host}:${port}`,
      VerbsConnection.newEndpoint(),
    );
    try {
      connection.onRouteResolved = () => connection.routeResolved(expected);
      const deadline = expected
        ? options.handshakeTimeout
        : Math.min(options.handshakeTimeout, AUTO_ESTABLISH_MS);
      connection.establishTimer = setTimeout(
        () =>
          connection.abort(
            new FabricError(
              'ETIMEDOUT',
              `no RDMA connection to ${host}:${port} within ${deadline} ms: is the peer listening there over RDMA?`,
            ),
          ),
        deadline,
      );
      connection.endpoint.resolve(host, port, Math.min(deadline, 5000), gidSourceAddress(options));
    } catch (error) {
      connection.abort(nativeFailure(error, `RDMA connection to ${host}:${port} failed`));
    }
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
    const kind = routeKind(endpoint.deviceName() ?? '', endpoint.portNumber() ?? 0, options);
    const ours = Buffer.from(privateData).subarray(0, CONNECT_MAGIC.length).equals(CONNECT_MAGIC);
    try {
      if (!ours || (kind !== 'roce' && kind !== 'ib') || (expected !== undefined && kind !== expected)) {
        throw new FabricError('EPROTO', `refused an RDMA connection request from ${peerName}`);
      }
      connection.createQueuePair(kind);
      endpoint.accept(new Uint8Array(0));
      // rdma_accept leaves the queue pair ready to send; a frame may arrive before the ESTABLISHED event.
      connection.established = true;
    } catch (error) {
      endpoint.reject();
      connection.abort(nativeFailure(error, `cannot accept ${peerName}`));
      return undefined;
    }
    return connection;
  }

  async send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void> {
    const { parts, length } = this.outgoingMessage(message);
    if (length > EAGER_LIMIT) {
      await this.sendRendezvous(parts, length);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      this.unsettledSends.add(reject);
      this.queueUser(
        this.userFrame({
          header: encodeHeader({ type: FrameType.Message, length }),
          payload: parts,
          length,
          carriesCredit: true,
          bytes: MessageCredit.cost(length),
          onPosted: () => {
            if (!this.unsettledSends.delete(reject)) return;
            counters.messagesSent++;
            counters.bytesSent += length;
            counters.copiedBytes += length;
            resolve();
          },
        }),
      );
    });
  }

  write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => {
      const request = prepareOneSided('write', source, remoteDescriptor, remoteOffset);
      return this.oneSided('write', request.slice, request.remote.key, remoteOffset);
    });
  }

  read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset = 0): Promise<void> {
    return this.limitedOneSided(() => {
      const request = prepareOneSided('read', target, remoteDescriptor, remoteOffset);
      return this.oneSided('read', request.slice, request.remote.key, remoteOffset);
    });
  }

  /**
   * @internal Registers `region` with this connection's device now rather than at its first use, as
   * `fabric-transport bench` does to time pinning; `reuse: false` pins anew even where the cache could serve.
   */
  registerOnDevice(region: Region, reuse = true): void {
    this.checkOpen();
    regionRegistration(region, this.endpoint, this.device, false, reuse);
  }

  close(): Promise<void> {
    this.abort(new FabricError('ECLOSED', 'the connection was closed by the application'));
    return this.closing as Promise<void>;
  }

  // ---- set-up -----------------------------------------------------------------------------------------------

  private routeResolved(expected: 'roce' | 'ib' | undefined): void {
    const device = this.endpoint.deviceName() ?? '';
    const kind = routeKind(device, this.endpoint.portNumber() ?? 0, this.options);
    if (kind !== 'roce' && kind !== 'ib') {
      throw new FabricError('ENODEV', `cannot use the RDMA route to ${this.peerName}: ${kind}`);
    }
    if (expected !== undefined && kind !== expected) {
      const names = { ib: 'InfiniBand', roce: 'RoCE' };
      throw new FabricError(
        'ENODEV',
        `${this.peerName} is reached through ${device}, a ${names[kind]} device, not ${names[expected]}`,
      );
    }
    try {
      this.createQueuePair(kind);
      this.endpoint.connect(CONNECT_MAGIC);
    } catch (error) {
      throw nativeFailure(error, `cannot set up the RDMA connection to ${this.peerName}`);
    }
  }

  private createQueuePair(kind: 'roce' | 'ib'): void {
    this.kind = kind;
    this.device = this.endpoint.deviceName() ?? '';
    const maxInline = this.endpoint.setup(SEND_DEPTH, RECEIVE_BUFFERS, 64);
    this.work = new WorkQueue(this.endpoint, SEND_DEPTH, RECEIVE_ID_BASE, maxInline, (errno) => {
      if (this.state !== 'closed') {
        this.abort(new FabricError('ECONNRESET', `the RDMA device refused a send (errno ${errno})`), false);
      }
    });
    this.receiveRegistration = registerMemory(this.endpoint, this.receiveBuffers, LOCAL_WRITE);
    this.sendRegistration = registerMemory(this.endpoint, this.sendBuffers, LOCAL_WRITE);
    for (let slot = 0; slot < RECEIVE_BUFFERS; slot++) this.postReceive(slot);
  }

  private onEvent(event: EndpointEvent, args: unknown[]): void {
    try {
      switch (event) {
        case 'completions':
          this.onCompletions(args[0] as Uint32Array);
          return;
        case 'route-resolved':
          this.onRouteResolved?.();
          return;
        case 'established':
          this.established = true;
          clearTimeout(this.establishTimer);
          if (this.state === 'handshake') this.handshake.start();
          return;
        case 'disconnected':
          this.disconnected = true;
          this.fail(new FabricError('ECONNRESET', `the RDMA connection to ${this.peerName} was lost`));
          this.onDisconnected?.();
          this.teardown();
          return;
        default:
          // rejected, error: the connection attempt (or the connection) is over.
          this.abort(connectError(event, args, this.peerName), false);
      }
    } catch (error) {
      this.onFrameError(error);
    }
  }

  // ---- frames in ----------------------------------------------------------------------------------------------

  private onCompletions(completions: Uint32Array): void {
    for (let i = 0; i + 3 < completions.length; i += 4) {
      const id = completions[i] as number;
      const status = completions[i + 1] as number;
      if (id >= RECEIVE_ID_BASE) this.onReceive(id - RECEIVE_ID_BASE, status, completions[i + 3] as number);
      else this.work?.complete(id, status);
      if (status !== 0 && this.state !== 'closed') {
        this.abort(completionError(status, this.peerName), false);
      }
    }
    this.pump();
  }

  private onReceive(slot: number, status: number, byteLength: number): void {
    if (this.state === 'closed' || status !== 0) return;
    const frame = this.receiveBuffers.subarray(slot * FRAME_BYTES, slot * FRAME_BYTES + byteLength);
    const header = decodeHeader(frame, RDMA_FRAMES);
    if (byteLength !== HEADER_SIZE + header.length) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: a frame whose length does not match its header',
      );
    }
    const costsCredit = header.type !== FrameType.Credit;
    if (costsCredit && ++this.peerFramesUsed > RECEIVE_CREDITS) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: it sent more frames than its credit allows',
      );
    }
    // Everything the handlers keep is copied out, so the buffer goes straight back to the receive queue, and
    // its credit back to the peer: soon for control frames, whose sender may be waiting on it.
    this.onFrame(header, frame.subarray(HEADER_SIZE));
    this.postReceive(slot);
    if (costsCredit) {
      const isMessage = header.type === FrameType.Message || header.type === FrameType.Rendezvous;
      this.returnFrame(!isMessage);
    }
  }

  private onFrame(header: FrameHeader, payload: Uint8Array): void {
    if (this.state === 'handshake') {
      this.onHandshakeFrame(header, Buffer.from(payload));
      return;
    }
    switch (header.type) {
      case FrameType.Message: {
        if (header.length > Math.min(this.options.maxMessageSize, EAGER_LIMIT)) this.tooLarge(header.length);
        this.credit.charge(header.length);
        this.addCredit(header);
        const bytes = Buffer.allocUnsafeSlow(header.length);
        bytes.set(payload);
        counters.copiedBytes += header.length;
        this.arrive({ bytes, ready: true });
        return;
      }
      case FrameType.Rendezvous: {
        const total = header.offset;
        if (total > this.options.maxMessageSize) this.tooLarge(total);
        this.credit.charge(total);
        this.addCredit(header);
        const segments = decodeSegments(payload, total);
        const arrival = { bytes: Buffer.allocUnsafeSlow(total), ready: false };
        this.arrive(arrival);
        // Pulled at once: the sender kept it within the receive window.
        this.pull(arrival, header.id, segments);
        return;
      }
      case FrameType.Credit:
        // Credit frames cost no credit (the receiver posts spare buffers for them), so none is owed back.
        this.addCredit(header);
        return;
      case FrameType.RendezvousDone:
        this.onTransferDone(header.id);
        return;
      case FrameType.KeyRequest:
        this.grantKey(header);
        return;
      case FrameType.KeyGrant:
        this.onGrant(header, payload);
        return;
      case FrameType.KeyRevoke:
        // Queued operations check their grant when they are posted: those posted from now on ask again, so
        // every operation that used the old rkey was posted before this acknowledgement.
        this.grants.delete(header.key);
        this.queueControl(encodeHeader({ type: FrameType.KeyRevokeAck, key: header.key }));
        return;
      case FrameType.KeyRevokeAck:
        this.revoking.get(header.key)?.();
        this.revoking.delete(header.key);
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

  private tooLarge(length: number): never {
    throw new FabricError(
      'EPROTO',
      `protocol violation by the peer: a ${length}-byte message exceeds maxMessageSize ${this.options.maxMessageSize}`,
    );
  }

  // ---- messages: arrival order, rendezvous pulls ----------------------------------------------------------------

  private arrive(arrival: Arrival): void {
    this.arrivals.push(arrival);
    this.deliver();
  }

  /** Hands the messages at the head of the arrival order that are complete to the application. */
  private deliver(): void {
    for (let next = this.arrivals.peek(); next?.ready; next = this.arrivals.peek()) {
      this.arrivals.shift();
      counters.messagesReceived++;
      counters.bytesReceived += next.bytes.length;
      this.inbox.push(next.bytes);
    }
  }

  /** RDMA-READs rendezvous message `id` from the sender's segments, then tells the sender it is done. */
  private pull(arrival: Arrival, id: number, segments: Segment[]): void {
    let target: NativeMemoryRegion;
    try {
      target = registerMemory(this.endpoint, arrival.bytes, LOCAL_WRITE);
    } catch (error) {
      this.abort(nativeFailure(error, 'cannot receive a message'));
      return;
    }
    this.pulls.add(target);
    let offset = 0;
    let outstanding = segments.length;
    for (const segment of segments) {
      (this.work as WorkQueue).post({
        opcode: OP_READ,
        address: target.address + BigInt(offset),
        length: segment.length,
        lkey: target.lkey,
        remoteAddress: segment.address,
        rkey: segment.rkey,
        done: (status) => {
          if (status !== 0 || --outstanding > 0) return;
          this.pulls.delete(target);
          target.deregister();
          // Pulled while closing: the inbox has ended, the message goes nowhere.
          if (this.state === 'closed') return;
          counters.placedBytes += arrival.bytes.length;
          arrival.ready = true;
          this.queueControl(encodeHeader({ type: FrameType.RendezvousDone, id }));
          this.deliver();
        },
      });
      offset += segment.length;
    }
  }

  protected consumed(message: Uint8Array): void {
    this.credit.consumed(message.length);
    // Returned at once when the application has caught up, else once half the window is owed.
    if (this.inbox.size === 0 || this.credit.owing >= this.receiveWindow / 2) this.scheduleCreditFlush();
  }

  private async sendRendezvous(parts: readonly Uint8Array[], length: number): Promise<void> {
    let pieces = parts.filter((part) => part.length > 0);
    if (pieces.length > MAX_SEGMENTS) {
      pieces = [Buffer.concat(pieces)];
      counters.copiedBytes += length;
    }
    const registrations: NativeMemoryRegion[] = [];
    try {
      for (const piece of pieces) registrations.push(registerMemory(this.endpoint, piece, REMOTE_READ));
    } catch (error) {
      for (const registration of registrations) registration.deregister();
      throw error;
    }
    const id = this.nextTransferId;
    this.nextTransferId = (this.nextTransferId % 0xffff_ffff) + 1;
    try {
      await new Promise<void>((resolve, reject) => {
        this.transfers.set(id, { resolve, reject });
        const segments = encodeSegments(
          registrations.map((registration, i) => ({
            address: registration.address,
            rkey: registration.rkey,
            length: (pieces[i] as Uint8Array).length,
          })),
        );
        this.queueUser(
          this.userFrame({
            header: encodeHeader({ type: FrameType.Rendezvous, id, length: segments.length, offset: length }),
            payload: [segments],
            length: segments.length,
            carriesCredit: true,
            bytes: MessageCredit.cost(length),
          }),
        );
      });
      counters.messagesSent++;
      counters.bytesSent += length;
    } finally {
      this.transfers.delete(id);
      // After a failure the peer may still be reading: the memory stays registered until the queue pair is gone.
      if (this.state === 'closed' && !this.destroyed) this.lingering.push(...registrations);
      else for (const registration of registrations) registration.deregister();
    }
  }

  private onTransferDone(id: number): void {
    const transfer = this.transfers.get(id);
    if (!transfer) {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: completion of unknown rendezvous ${id}`,
      );
    }
    transfer.resolve();
  }

  // ---- one-sided operations -------------------------------------------------------------------------------------

  /**
   * Queues a one-sided operation among the user's operations: it asks for the grant at once, and is posted
   * in call order once the grant is there, checked against it.
   */
  private oneSided(
    kind: 'write' | 'read',
    slice: RegionSlice,
    key: bigint,
    remoteOffset: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let grant: Promise<Grant> | undefined;
      let granted: Grant | undefined;
      // Whether it may go when it comes first (its grant arrived, or it failed), and what it then does.
      let ready = false;
      let post = (): boolean => false;
      const refuse = (error: Error) => {
        ready = true;
        post = () => true;
        reject(error);
        this.pump();
      };
      const fetch = () => {
        ready = false;
        const pending = this.grant(key);
        grant = pending;
        pending.then((answer) => {
          if (grant !== pending) return;
          granted = answer;
          ready = true;
          this.pump();
        }, refuse);
      };
      post = () => {
        // A grant revoked while the operation waited in the queue is never used: ask again.
        if (this.grants.get(key) !== grant) {
          fetch();
          return false;
        }
        try {
          this.postOneSided(kind, slice, granted as Grant, remoteOffset, resolve, reject);
        } catch (error) {
          reject(error as Error);
        }
        return true;
      };
      this.queueUser({ cost: 0, start: () => ready && post(), reject });
      fetch();
    });
  }

  private postOneSided(
    kind: 'write' | 'read',
    slice: RegionSlice,
    grant: Grant,
    remoteOffset: number,
    resolve: () => void,
    reject: (error: Error) => void,
  ): void {
    const refused = checkRegionAccess(
      grant.access,
      grant.length,
      remoteOffset,
      slice.length,
      kind === 'write' ? ACCESS_WRITE : ACCESS_READ,
    );
    if (refused) throw new FabricError(refused.code, `${this.peerName} says: ${refused.message}`);
    if (!slice.region.registered) {
      throw new FabricError(
        'EINVAL',
        `${kind}: the local region was deregistered; register the memory again`,
      );
    }
    if (kind === 'write') {
      counters.writes++;
      counters.bytesSent += slice.length;
    } else {
      counters.reads++;
    }
    if (slice.length === 0) {
      resolve();
      return;
    }
    const registration = regionRegistration(slice.region, this.endpoint, this.device, false);
    const local = registration.memory;
    const release = registration.use();
    const id = this.operations.add({ kind, what: `the ${kind}`, resolve, reject });
    let outstanding = Math.ceil(slice.length / CHUNK_BYTES);
    for (let done = 0; done < slice.length; done += CHUNK_BYTES) {
      (this.work as WorkQueue).post({
        opcode: kind === 'write' ? OP_WRITE : OP_READ,
        address: local.address + BigInt(slice.offset + done),
        length: Math.min(CHUNK_BYTES, slice.length - done),
        lkey: local.lkey,
        remoteAddress: grant.address + BigInt(remoteOffset + done),
        rkey: grant.rkey,
        done: (status) => {
          if (--outstanding > 0) return;
          release();
          if (status !== 0) return;
          // The NIC put every byte straight into its final memory.
          counters.placedBytes += slice.length;
          this.operations.take(id)?.resolve();
        },
      });
    }
  }

  /** The peer's address and rkey for region `key`, asked once per connection. */
  private grant(key: bigint): Promise<Grant> {
    let grant = this.grants.get(key);
    if (!grant) {
      const requested = new Promise<Grant>((resolve, reject) => {
        const request: VerbsOperation = {
          kind: 'grant',
          what: 'access to the region',
          resolve: () => resolve(request.granted as Grant),
          reject,
        };
        const id = this.operations.add(request);
        this.queueControl(encodeHeader({ type: FrameType.KeyRequest, id, key }));
      });
      this.grants.set(key, requested);
      requested.catch(() => {
        if (this.grants.get(key) === requested) this.grants.delete(key);
      });
      grant = requested;
    }
    return grant;
  }

  private onGrant(header: FrameHeader, payload: Uint8Array): void {
    const request = this.operations.get(header.id);
    if (request?.kind !== 'grant') {
      throw new FabricError(
        'EPROTO',
        `protocol violation by the peer: unexpected grant for operation ${header.id}`,
      );
    }
    let region: { length: number; access: number };
    try {
      region = decodeDescriptor(Buffer.from(payload));
    } catch {
      throw new FabricError('EPROTO', 'protocol violation by the peer: a malformed region grant');
    }
    this.operations.take(header.id);
    request.granted = { address: header.key, rkey: header.aux, length: region.length, access: region.access };
    request.resolve();
  }

  /** Owner side: hands the peer the address and rkey of a region it may use, registering it on first use. */
  private grantKey(header: FrameHeader): void {
    if (header.id === 0) throw new FabricError('EPROTO', 'protocol violation by the peer: operation id 0');
    let answer: { region: Region; registration: DeviceRegistration } | FabricError;
    try {
      const region = grantedRegion(header.key, this);
      answer =
        region instanceof FabricError
          ? region
          : { region, registration: regionRegistration(region, this.endpoint, this.device, true) };
    } catch (error) {
      answer = error instanceof FabricError ? error : new FabricError('EINVAL', String(error));
    }
    if (answer instanceof FabricError) {
      const { header: errorHeader, text } = errorFrame(header.id, answer);
      this.queueControl(encodeHeader(errorHeader), [text]);
      return;
    }
    const { region, registration } = answer;
    const key = header.key;
    if (!this.granted.has(key)) {
      this.granted.set(key, registration);
      registration.grant(this, () => this.revoke(key));
    }
    this.queueControl(
      encodeHeader({
        type: FrameType.KeyGrant,
        id: header.id,
        aux: registration.memory.rkey,
        key: registration.memory.address,
        length: region.descriptor.length,
      }),
      [region.descriptor],
    );
  }

  /** Tells the peer that region `key` is deregistered; resolves when it acknowledged, or the connection ended. */
  private revoke(key: bigint): Promise<void> {
    this.granted.delete(key);
    if (this.state !== 'open') return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.revoking.set(key, resolve);
      this.queueControl(encodeHeader({ type: FrameType.KeyRevoke, key }));
    });
  }

  // ---- frames out and credit ------------------------------------------------------------------------------------

  protected sendHandshakeFrame(type: FrameType, payload: Uint8Array): void {
    this.queueControl(encodeHeader({ type, length: payload.length }), [payload]);
  }

  private queueUser(operation: UserOperation): void {
    this.userOperations.push(operation);
    this.awaitingPeer();
  }

  /** A message frame among the user's operations: it goes after the control frames, with credit to spare. */
  private userFrame(frame: OutgoingFrame): UserOperation {
    return {
      cost: frame.bytes,
      start: () => {
        const blocked =
          this.work === undefined ||
          this.destroyed ||
          this.controlFrames.length > 0 ||
          this.freeSlots.length === 0 ||
          this.frameCredit <= MESSAGE_RESERVE;
        if (!blocked) this.postFrame(frame);
        return !blocked;
      },
      // Its send() rejects through unsettledSends, a rendezvous through its transfer.
      reject: () => {},
    };
  }

  private queueControl(header: Buffer, payload: readonly Uint8Array[] = [], free = false): void {
    const length = payload.reduce((sum, part) => sum + part.length, 0);
    this.controlFrames.push({ header, payload, length, carriesCredit: false, bytes: 0, free });
    this.pump();
  }

  /**
   * Posts what can go: a due Credit frame, control frames (they only need a send slot and one credit), then
   * the user's operations in call order (a message needs credit beyond the reserve, a one-sided operation its
   * grant).
   */
  private pump(): void {
    if (this.work === undefined || this.destroyed) return;
    if (this.creditFlushWanted && this.freeSlots.length > 0) this.flushCredit();
    for (
      let control = this.controlFrames.peek();
      control && this.freeSlots.length > 0 && (this.frameCredit > 0 || control.free);
      control = this.controlFrames.peek()
    ) {
      this.controlFrames.shift();
      this.postFrame(control);
    }
    this.userOperations.pump();
  }

  /** One handled frame's credit is owed; `soon` asks for a Credit frame if nothing carries it. */
  private returnFrame(soon: boolean): void {
    this.framesToReturn++;
    if (soon || this.framesToReturn >= CREDIT_BATCH) this.scheduleCreditFlush();
  }

  private scheduleCreditFlush(): void {
    if (this.creditFlushScheduled) return;
    this.creditFlushScheduled = true;
    // Deferred so that a reply sent right after receive() carries the credit instead of an extra frame.
    setImmediate(() => {
      this.creditFlushScheduled = false;
      this.flushCredit();
    });
  }

  /** Sends a Credit frame with what is owed (it costs no credit), or as soon as a send slot frees up. */
  private flushCredit(): void {
    this.creditFlushWanted = false;
    if (this.state !== 'open' || this.destroyed) return;
    if (this.framesToReturn === 0 && this.credit.owing === 0) return;
    if (this.freeSlots.length === 0) {
      this.creditFlushWanted = true;
      return;
    }
    this.postFrame({
      header: encodeHeader({ type: FrameType.Credit }),
      payload: [],
      length: 0,
      carriesCredit: true,
      bytes: 0,
      free: true,
    });
  }

  /** Credit the peer returned: message bytes in `aux`, frames in `key`. */
  private addCredit(header: FrameHeader): void {
    const frames = Number(header.key);
    if (this.frameCredit + frames > RECEIVE_CREDITS) {
      throw new FabricError(
        'EPROTO',
        'protocol violation by the peer: it returned more credit than it was sent',
      );
    }
    this.credit.returned(header.aux);
    this.frameCredit += frames;
  }

  /** Copies a frame into a send slot and posts it as one SEND. */
  private postFrame(frame: OutgoingFrame): void {
    const slot = this.freeSlots.pop() as number;
    const at = slot * FRAME_BYTES;
    if (frame.carriesCredit) {
      frame.header.writeUInt32LE(this.credit.takeOwed(), 12);
      frame.header.writeBigUInt64LE(BigInt(this.framesToReturn), 16);
      this.peerFramesUsed -= this.framesToReturn;
      this.framesToReturn = 0;
    }
    this.sendBuffers.set(frame.header, at);
    let offset = at + HEADER_SIZE;
    for (const part of frame.payload) {
      this.sendBuffers.set(part, offset);
      offset += part.length;
    }
    if (!frame.free) this.frameCredit--;
    const registration = this.sendRegistration as NativeMemoryRegion;
    (this.work as WorkQueue).post({
      opcode: OP_SEND,
      address: registration.address + BigInt(at),
      length: HEADER_SIZE + frame.length,
      lkey: registration.lkey,
      remoteAddress: 0n,
      rkey: 0,
      done: () => {
        this.freeSlots.push(slot);
      },
    });
    frame.onPosted?.();
  }

  private postReceive(slot: number): void {
    const registration = this.receiveRegistration as NativeMemoryRegion;
    const error = this.endpoint.postRecv(
      RECEIVE_ID_BASE + slot,
      registration.address + BigInt(slot * FRAME_BYTES),
      FRAME_BYTES,
      registration.lkey,
    );
    if (error !== 0 && this.state !== 'closed') {
      throw new FabricError('ECONNRESET', `cannot post a receive buffer (errno ${error})`);
    }
  }

  // ---- failure and teardown -------------------------------------------------------------------------------------

  /** Fails the connection, then tells the peer why (when `tellPeer` and it is connected) and tears it down. */
  protected abort(reason: FabricError, tellPeer = true): void {
    const connected = this.state !== 'closed' && this.established && !this.disconnected;
    if (!this.established && this.state !== 'closed') failedBeforeEstablished.add(reason);
    this.fail(reason);
    if (tellPeer && connected) {
      // The last frame: it may take a spare buffer at the peer rather than wait for credit that never comes.
      const { header, text } = errorFrame(0, reason);
      this.queueControl(encodeHeader(header), [text], true);
    }
    this.teardown();
  }

  protected override awaitsPeer(): boolean {
    return super.awaitsPeer() || this.transfers.size > 0;
  }

  protected pollOnce(micros: number): boolean {
    if (this.work === undefined || this.destroyed) return false;
    const completions = this.endpoint.pollCompletions(micros);
    if (completions.length > 0) this.onEvent('completions', [completions]);
    return true;
  }

  protected override releasePending(reason: FabricError): void {
    clearTimeout(this.establishTimer);
    for (const transfer of this.transfers.values()) transfer.reject(reason);
  }

  /**
   * Sends what is queued for the peer, waits (within CLOSE_GRACE_MS in all) for the sends to complete and for
   * the disconnect, then frees everything.
   */
  private teardown(): void {
    this.closing ??= (async () => {
      const deadline = performance.now() + CLOSE_GRACE_MS;
      const work = this.work;
      if (work && this.established && !this.disconnected) {
        await this.until(deadline, (resolve) => work.onIdle(resolve));
        if (!this.disconnected) {
          this.endpoint.disconnect();
          await this.until(deadline, (resolve) => {
            this.onDisconnected = resolve;
          });
        }
      }
      this.endpoint.destroy();
      this.destroyed = true;
      work?.flush();
      const registrations = [
        this.receiveRegistration,
        this.sendRegistration,
        ...this.pulls,
        ...this.lingering,
      ];
      for (const registration of registrations) registration?.deregister();
      this.pulls.clear();
      this.lingering.length = 0;
      for (const registration of this.granted.values()) registration.forget(this);
      this.granted.clear();
      for (const acknowledged of this.revoking.values()) acknowledged();
      this.revoking.clear();
    })();
  }

  /** Waits for `wait` to call back, or until `deadline` (performance.now()), whichever comes first. */
  private until(deadline: number, wait: (resolve: () => void) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      wait(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
