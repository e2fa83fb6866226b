import { FabricError } from '../../api/errors.js';
import type { Region } from '../../api/region.js';
import { counters } from '../../api/stats.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../protocol/descriptor.js';
import type { NativeEndpoint, NativeMemoryRegion } from './native.js';
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

  /** @param cacheAs where the registration goes once retired: the cache, or (absent) ibv_dereg_mr. */
  constructor(
    readonly memory: NativeMemoryRegion,
    private readonly cacheAs?: { bytes: Uint8Array; flags: number; device: string },
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
    if (this.cacheAs) {
      const { bytes, flags, device } = this.cacheAs;
      registrationCache.park(bytes, flags, device, this.memory);
    } else {
      this.memory.deregister();
    }
  }
}

/** A region's registrations by device name: each made on first use there, all retired by deregister(). */
const registrations = new WeakMap<Region, Map<string, DeviceRegistration>>();

/**
 * The region's registration on `device`, made through `endpoint` (any endpoint on that device): `remote` for
 * peers (with the region's remote access; never cached, so that no rkey outlives its region at the NIC), or
 * local-only, for this process's own writes and reads, taken from the cache when the same memory was
 * registered before (unless `reuse` is false: then it is not cached either).
 */
export function regionRegistration(
  region: Region,
  endpoint: NativeEndpoint,
  device: string,
  remote: boolean,
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
  const use = `${device} ${remote ? 'remote' : 'local'}`;
  let registration = byDevice.get(use);
  if (!registration) {
    const flags = remote
      ? LOCAL_WRITE |
        ((region.accessBits & ACCESS_READ) !== 0 ? REMOTE_READ : 0) |
        ((region.accessBits & ACCESS_WRITE) !== 0 ? REMOTE_WRITE : 0)
      : LOCAL_WRITE;
    const cacheable = !remote && reuse;
    let memory = cacheable ? registrationCache.take(region.bytes, flags, device) : undefined;
    if (memory) {
      counters.registrationCacheHits++;
    } else {
      memory = pin(endpoint, region.bytes, flags);
      counters.deviceRegistrations++;
    }
    registration = new DeviceRegistration(
      memory,
      cacheable ? { bytes: region.bytes, flags, device } : undefined,
    );
    byDevice.set(use, registration);
  }
  return registration;
}

/** registerMemory, once more after emptying the cache if the locked-memory limit refused it. */
function pin(endpoint: NativeEndpoint, bytes: Uint8Array, flags: number): NativeMemoryRegion {
  try {
    return registerMemory(endpoint, bytes, flags);
  } catch (error) {
    if (!(error instanceof FabricError) || error.code !== 'ENOMEM' || registrationCache.clear() === 0) {
      throw error;
    }
    return registerMemory(endpoint, bytes, flags);
  }
}
