import { FabricError } from '../../api/errors.js';
import { grantedRegion, type Region } from '../../api/region.js';
import type { ConnectionState } from '../../core/connection-base.js';
import type { OperationTable, PendingOperation } from '../../core/operation-table.js';
import { decodeDescriptor } from '../../protocol/descriptor.js';
import { errorFrame } from '../../protocol/error-frame.js';
import { encodeHeader, type FrameHeader, FrameType } from '../../protocol/frame.js';
import type { FrameChannel } from './frame-channel.js';
import { type DeviceRegistration, regionRegistration } from './registrations.js';
import type { QueuePair } from './setup.js';

/** What the owner of a region answered to KeyRequest. */
export interface Grant {
  address: bigint;
  rkey: number;
  length: number;
  access: number;
}

/** One of our writes, reads or grant requests, waiting for its completion or the owner's answer. */
export interface VerbsOperation extends PendingOperation {
  kind: 'write' | 'read' | 'grant';
  /** A grant request's answer. */
  granted?: Grant;
}

/** What the grants need of their connection. */
export interface GrantsOwner {
  /** The connection: the peer that regions are granted to (`register(mem, { peers })`). */
  readonly connection: object;
  readonly link: Pick<QueuePair, 'endpoint' | 'device'>;
  readonly channel: Pick<FrameChannel, 'queueControl'>;
  readonly operations: OperationTable<VerbsOperation>;
  state(): ConnectionState;
}

/**
 * Grants both ways (docs/PROTOCOL.md, "Over RDMA"): the address and rkey of the peer's regions, asked once
 * per region and connection (KeyRequest, KeyGrant) and forgotten when the peer revokes them; and, as owner,
 * ours handed to the peer, registered on first use, revoked (KeyRevoke, acknowledged) when deregistered.
 */
export class Grants {
  /** Grants of the peer's regions by key. */
  private readonly grants = new Map<bigint, Promise<Grant>>();
  /** Our regions granted to the peer, by key. */
  private readonly granted = new Map<bigint, DeviceRegistration>();
  /** Revocations sent to the peer, waiting for its acknowledgement, by key. */
  private readonly revoking = new Map<bigint, () => void>();

  constructor(private readonly owner: GrantsOwner) {}

  /** The grant of the peer's region `key` that operations use now (undefined once revoked). */
  current(key: bigint): Promise<Grant> | undefined {
    return this.grants.get(key);
  }

  /** The peer's address and rkey for region `key`, asked once per connection. */
  request(key: bigint): Promise<Grant> {
    let grant = this.grants.get(key);
    if (!grant) {
      const requested = new Promise<Grant>((resolve, reject) => {
        const request: VerbsOperation = {
          kind: 'grant',
          what: 'access to the region',
          resolve: () => resolve(request.granted as Grant),
          reject,
        };
        const id = this.owner.operations.add(request);
        this.owner.channel.queueControl(encodeHeader({ type: FrameType.KeyRequest, id, key }));
      });
      this.grants.set(key, requested);
      requested.catch(() => {
        if (this.grants.get(key) === requested) this.grants.delete(key);
      });
      grant = requested;
    }
    return grant;
  }

  /** KeyGrant: the owner's answer to one of our requests. */
  onGrant(header: FrameHeader, payload: Uint8Array): void {
    const { operations } = this.owner;
    const request = operations.get(header.id);
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
    operations.take(header.id);
    request.granted = { address: header.key, rkey: header.aux, length: region.length, access: region.access };
    request.resolve();
  }

  /** KeyRevoke: the peer deregistered region `key`. */
  onRevoke(key: bigint): void {
    // Queued operations check their grant when they are posted: those posted from now on ask again, so
    // every operation that used the old rkey was posted before this acknowledgement.
    this.grants.delete(key);
    this.owner.channel.queueControl(encodeHeader({ type: FrameType.KeyRevokeAck, key }));
  }

  /** KeyRevokeAck: the peer stopped using our region `key`. */
  onRevokeAck(key: bigint): void {
    this.revoking.get(key)?.();
    this.revoking.delete(key);
  }

  /**
   * Owner side (KeyRequest): hands the peer the address and rkey of a region it may use, registering it on
   * first use.
   */
  onRequest(header: FrameHeader): void {
    if (header.id === 0) throw new FabricError('EPROTO', 'protocol violation by the peer: operation id 0');
    const { connection, link, channel } = this.owner;
    let answer: { region: Region; registration: DeviceRegistration } | FabricError;
    try {
      const region = grantedRegion(header.key, connection);
      answer =
        region instanceof FabricError
          ? region
          : { region, registration: regionRegistration(region, link.endpoint, link.device, true) };
    } catch (error) {
      answer = error instanceof FabricError ? error : new FabricError('EINVAL', String(error));
    }
    if (answer instanceof FabricError) {
      const { header: errorHeader, text } = errorFrame(header.id, answer);
      channel.queueControl(encodeHeader(errorHeader), [text]);
      return;
    }
    const { region, registration } = answer;
    const key = header.key;
    if (!this.granted.has(key)) {
      this.granted.set(key, registration);
      registration.grant(connection, () => this.revoke(key));
    }
    channel.queueControl(
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

  /** The endpoint is gone: our grants end with it, and no revocation waits for an acknowledgement. */
  release(): void {
    for (const registration of this.granted.values()) registration.forget(this.owner.connection);
    this.granted.clear();
    for (const acknowledged of this.revoking.values()) acknowledged();
    this.revoking.clear();
  }

  /** Tells the peer that region `key` is deregistered; resolves when it acknowledged, or the connection ended. */
  private revoke(key: bigint): Promise<void> {
    this.granted.delete(key);
    if (this.owner.state() !== 'open') return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.revoking.set(key, resolve);
      this.owner.channel.queueControl(encodeHeader({ type: FrameType.KeyRevoke, key }));
    });
  }
}
