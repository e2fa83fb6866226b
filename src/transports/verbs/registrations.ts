import { FabricError } from '../../errors.js';
import type { NativeEndpoint, NativeMemoryRegion } from '../../native.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../protocol/descriptor.js';
import type { Region } from '../../region.js';
import { counters } from '../../stats.js';
import { registrationCache } from './registration-cache.js';

/** ibv_access_flags */
export const LOCAL_WRITE = 1;
export const REMOTE_WRITE = 2;
export const REMOTE_READ = 4;

/** How long a deregistered region's memory waits for peers to acknowledge the revocation of its rkey. */
const REVOCATION_TIMEOUT_MS = 5000;

/** Pins `bytes` for `endpoint`'s device (its protection domain), with `flags` as ibv_access_flags. */
export function registerMemory(
  endpoint: NativeEndpoint,
  bytes: Uint8Array,
  flags: number,
): NativeMemoryRegion {
  try {
    return endpoint.register(bytes, flags);
  } catch (error) {
    const { errno, message } = error as { errno?: number; message: string };
    const ENOMEM = 12;
    const EPERM = 1;
    throw new FabricError(
      errno === ENOMEM || errno === EPERM ? 'ENOMEM' : 'EINVAL',
      `cannot register ${bytes.length} bytes with the RDMA device: ${message}`,
      { cause: error },
    );
  }
}

/** Tells one peer that a granted rkey is no longer valid; resolves once the peer has stopped using it. */
export type Revoke = () => Promise<void>;

/**
 * A region's registration on one device. When the region is deregistered, the memory stays registered until
 * every peer it was granted to has acknowledged the revocation (their operations issued before are done, later
 * ones get EACCES; at most REVOCATION_TIMEOUT_MS) and the local operations using it have completed: a stale
 * rkey or lkey would otherwise put a queue pair into the error state and kill the whole connection.
 */
export class DeviceRegistration {
  private inUse = 0;
  private onIdle: (() => void) | undefined;
  private readonly grantees = new Map<object, Revoke>();
  /** Whether a peer was ever given the rkey: then the memory is deregistered, never cached, when retired. */
  private granted = false;

  constructor(
    readonly memory: NativeMemoryRegion,
    private readonly bytes: Uint8Array,
    private readonly flags: number,
    private readonly device: string,
  ) {}

  /** Marks a local operation in flight on the memory; call the result when it completed. */
  use(): () => void {
    this.inUse++;
    return () => {
      if (--this.inUse === 0) this.onIdle?.();
    };
  }

  /** Records that `peer` holds the rkey, and how to revoke it. */
  grant(peer: object, revoke: Revoke): void {
    this.granted = true;
    this.grantees.set(peer, revoke);
  }

  /** `peer` is gone (its connection closed): nothing to revoke there any more. */
  forget(peer: object): void {
    this.grantees.delete(peer);
  }

  async retire(): Promise<void> {
    const revocations = [...this.grantees.values()].map((revoke) => revoke());
    this.grantees.clear();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, REVOCATION_TIMEOUT_MS);
    });
    // A peer that does not acknowledge in time is misbehaving: its later use of the rkey fails its own
    // connection. Local operations always end (completed, or flushed when their connection closes).
    await Promise.race([Promise.all(revocations), timeout]);
    clearTimeout(timer);
    await new Promise<void>((resolve) => {
      this.onIdle = resolve;
      if (this.inUse === 0) resolve();
    });
    if (this.granted) this.memory.deregister();
    else registrationCache.park(this.bytes, this.flags, this.device, this.memory);
  }
}

/** A region's registrations by device name: each made on first use there, all retired by deregister(). */
const registrations = new WeakMap<Region, Map<string, DeviceRegistration>>();

/**
 * The region's registration on `device`, made through `endpoint` (any endpoint on that device), or taken
 * from the cache when the same memory was registered before (unless `reuse` is false).
 */
export function regionRegistration(
  region: Region,
  endpoint: NativeEndpoint,
  device: string,
  reuse = true,
): DeviceRegistration {
  if (!region.registered)
    throw new FabricError('EINVAL', 'the region was deregistered; register the memory again');
  let byDevice = registrations.get(region);
  if (!byDevice) {
    const created = new Map<string, DeviceRegistration>();
    byDevice = created;
    registrations.set(region, created);
    region.onDeregister(() => {
      registrations.delete(region);
      for (const registration of created.values()) void registration.retire();
    });
  }
  let registration = byDevice.get(device);
  if (!registration) {
    const remote =
      ((region.accessBits & ACCESS_READ) !== 0 ? REMOTE_READ : 0) |
      ((region.accessBits & ACCESS_WRITE) !== 0 ? REMOTE_WRITE : 0);
    const flags = LOCAL_WRITE | remote;
    let memory = reuse ? registrationCache.take(region.bytes, flags, device) : undefined;
    if (memory) {
      counters.registrationCacheHits++;
    } else {
      memory = registerMemory(endpoint, region.bytes, flags);
      counters.deviceRegistrations++;
    }
    registration = new DeviceRegistration(memory, region.bytes, flags, device);
    byDevice.set(device, registration);
  }
  return registration;
}
