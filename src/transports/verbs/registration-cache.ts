import type { NativeMemoryRegion } from './native.js';

/** Bounds of what the cache keeps pinned. */
export const CACHE_MAX_ENTRIES = 64;
export const CACHE_MAX_BYTES = 1 << 30;

interface CachedRegistration {
  buffer: ArrayBufferLike;
  key: string;
  bytes: number;
  memory: NativeMemoryRegion;
}

/**
 * Device registrations kept after their region was deregistered, so that registering the same memory again
 * (same ArrayBuffer, offset, length and access, on the same device) costs no ibv_reg_mr: the pattern of a
 * runtime that registers a tensor's host buffer for each call. Only local-only registrations come here (the
 * side of this process's own writes and reads): the NIC lets no peer reach them, whatever rkey it tries.
 * Least recently parked first out beyond CACHE_MAX_ENTRIES or CACHE_MAX_BYTES; everything when the
 * locked-memory limit refuses a new registration; a detached ArrayBuffer's entry when it is met.
 */
class RegistrationCache {
  private readonly byBuffer = new WeakMap<ArrayBufferLike, Map<string, CachedRegistration>>();
  /** Every entry, oldest first. */
  private readonly order = new Set<CachedRegistration>();
  private pinnedBytes = 0;

  /** Keeps `memory`, the registration of `bytes` with `flags` on `device`, for the same memory registered again. */
  park(bytes: Uint8Array, flags: number, device: string, memory: NativeMemoryRegion): void {
    const key = cacheKey(bytes, flags, device);
    let entries = this.byBuffer.get(bytes.buffer);
    if (entries === undefined) {
      entries = new Map();
      this.byBuffer.set(bytes.buffer, entries);
    }
    const previous = entries.get(key);
    if (previous) this.evict(previous);
    const entry = { buffer: bytes.buffer, key, bytes: bytes.length, memory };
    entries.set(key, entry);
    this.order.add(entry);
    this.pinnedBytes += entry.bytes;
    for (const oldest of this.order) {
      if (this.order.size <= CACHE_MAX_ENTRIES && this.pinnedBytes <= CACHE_MAX_BYTES) break;
      this.evict(oldest);
    }
  }

  /** The parked registration of exactly this memory, access and device, taken out of the cache; or none. */
  take(bytes: Uint8Array, flags: number, device: string): NativeMemoryRegion | undefined {
    const entries = this.byBuffer.get(bytes.buffer);
    if (entries === undefined) return undefined;
    if (bytes.buffer.byteLength === 0) {
      // Detached (transferred): its registrations no longer describe this buffer's memory.
      for (const entry of [...entries.values()]) this.evict(entry);
      return undefined;
    }
    const entry = entries.get(cacheKey(bytes, flags, device));
    if (entry) this.remove(entry);
    return entry?.memory;
  }

  /** Deregisters every parked registration (the locked-memory limit refused a new one); returns how many. */
  clear(): number {
    const entries = [...this.order];
    for (const entry of entries) this.evict(entry);
    return entries.length;
  }

  private evict(entry: CachedRegistration): void {
    this.remove(entry);
    entry.memory.deregister();
  }

  private remove(entry: CachedRegistration): void {
    this.byBuffer.get(entry.buffer)?.delete(entry.key);
    this.order.delete(entry);
    this.pinnedBytes -= entry.bytes;
  }
}

function cacheKey(bytes: Uint8Array, flags: number, device: string): string {
  return `${device} ${bytes.byteOffset} ${bytes.length} ${flags}`;
}

export const registrationCache = new RegistrationCache();
