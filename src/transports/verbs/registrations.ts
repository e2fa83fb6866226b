import { FabricError } from '../../errors.js';
import type { NativeEndpoint, NativeMemoryRegion } from '../../native.js';
import { ACCESS_READ, ACCESS_WRITE } from '../../protocol/descriptor.js';
import type { Region } from '../../region.js';

/** ibv_access_flags */
export const LOCAL_WRITE = 1;
export const REMOTE_WRITE = 2;
export const REMOTE_READ = 4;

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

/** A region's registrations by device name: each made on first use there, all released by deregister(). */
const registrations = new WeakMap<Region, Map<string, NativeMemoryRegion>>();

/** The region's registration on `device`, made through `endpoint` (any endpoint on that device). */
export function regionRegistration(
  region: Region,
  endpoint: NativeEndpoint,
  device: string,
): NativeMemoryRegion {
  let byDevice = registrations.get(region);
  if (!byDevice) {
    const created = new Map<string, NativeMemoryRegion>();
    byDevice = created;
    registrations.set(region, created);
    region.onDeregister(() => {
      registrations.delete(region);
      for (const registration of created.values()) registration.deregister();
    });
  }
  let registration = byDevice.get(device);
  if (!registration) {
    const remote =
      ((region.accessBits & ACCESS_READ) !== 0 ? REMOTE_READ : 0) |
      ((region.accessBits & ACCESS_WRITE) !== 0 ? REMOTE_WRITE : 0);
    registration = registerMemory(endpoint, region.bytes, LOCAL_WRITE | remote);
    byDevice.set(device, registration);
  }
  return registration;
}
