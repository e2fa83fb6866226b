// The cache of device registrations (src/transports/verbs/registration-cache.ts), with stand-in memory
// regions: what it hands back, and what it lets go. Over a real device: rdma-host.test.ts.
import * as assert from 'node:assert/strict';
import type { NativeMemoryRegion } from '../../../src/transports/verbs/native.js';
import {
  CACHE_MAX_BYTES,
  CACHE_MAX_ENTRIES,
  registrationCache,
} from '../../../src/transports/verbs/registration-cache.js';

function memoryRegion(): NativeMemoryRegion & { deregistered: boolean } {
  return {
    lkey: 1,
    rkey: 2,
    address: 0n,
    deregistered: false,
    deregister() {
      this.deregistered = true;
    },
  };
}

describe('registration cache', () => {
  it('hands a parked registration back for exactly the same memory, access and device, once', () => {
    const buffer = new ArrayBuffer(4096);
    const bytes = new Uint8Array(buffer, 1024, 2048);
    const parked = memoryRegion();
    registrationCache.park(bytes, 7, 'rxe0', parked);
    assert.equal(registrationCache.take(new Uint8Array(buffer, 1024, 1024), 7, 'rxe0'), undefined);
    assert.equal(registrationCache.take(new Uint8Array(buffer, 0, 2048), 7, 'rxe0'), undefined);
    assert.equal(registrationCache.take(new Uint8Array(4096).subarray(1024, 3072), 7, 'rxe0'), undefined);
    assert.equal(registrationCache.take(bytes, 3, 'rxe0'), undefined);
    assert.equal(registrationCache.take(bytes, 7, 'mlx5_0'), undefined);
    assert.equal(registrationCache.take(new Uint8Array(buffer, 1024, 2048), 7, 'rxe0'), parked);
    assert.equal(registrationCache.take(bytes, 7, 'rxe0'), undefined);
    assert.equal(parked.deregistered, false);
  });

  it(`deregisters the oldest beyond ${CACHE_MAX_ENTRIES} entries or ${CACHE_MAX_BYTES / 2 ** 30} GiB`, () => {
    const regions = Array.from({ length: CACHE_MAX_ENTRIES + 1 }, () => memoryRegion());
    const buffers = regions.map(() => new Uint8Array(16));
    regions.forEach((region, i) => {
      registrationCache.park(buffers[i] as Uint8Array, 7, 'rxe0', region);
    });
    assert.deepEqual(
      regions.map((region) => region.deregistered),
      regions.map((_, i) => i === 0),
    );
    const large = memoryRegion();
    // A view's length is all the cache counts: no gigabyte is allocated here.
    const huge = { buffer: new ArrayBuffer(8), byteOffset: 0, length: CACHE_MAX_BYTES } as Uint8Array;
    registrationCache.park(huge, 7, 'rxe0', large);
    assert.ok(regions.every((region) => region.deregistered));
    assert.equal(large.deregistered, false);
    assert.equal(registrationCache.take(huge, 7, 'rxe0'), large);
  });

  it('deregisters everything it holds when asked to make room', () => {
    const parked = [memoryRegion(), memoryRegion()];
    parked.forEach((region) => {
      registrationCache.park(new Uint8Array(32), 1, 'rxe0', region);
    });
    assert.ok(registrationCache.clear() >= 2);
    assert.ok(parked.every((region) => region.deregistered));
    assert.equal(registrationCache.clear(), 0);
  });

  it('replaces a second registration of the same memory, and drops one whose buffer was detached', () => {
    const bytes = new Uint8Array(64);
    const first = memoryRegion();
    const second = memoryRegion();
    registrationCache.park(bytes, 7, 'rxe0', first);
    registrationCache.park(bytes, 7, 'rxe0', second);
    assert.equal(first.deregistered, true);
    assert.equal(registrationCache.take(bytes, 7, 'rxe0'), second);

    const buffer = new ArrayBuffer(64);
    const view = new Uint8Array(buffer);
    const parked = memoryRegion();
    registrationCache.park(view, 7, 'rxe0', parked);
    structuredClone(buffer, { transfer: [buffer] });
    assert.equal(registrationCache.take(view, 7, 'rxe0'), undefined);
    assert.equal(parked.deregistered, true);
  });
});
