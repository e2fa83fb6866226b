// register(memory, { cudaPinned: true }): the region is also page-locked for CUDA DMA. On a host without CUDA
// it must say so; the GPU-side test runs where a CUDA device is present and is skipped, with the reason,
// elsewhere.
import * as assert from 'node:assert/strict';
import { FabricError, register } from '../../src/index.js';

/** Why CUDA cannot be used here, or undefined where it can. */
function cudaUnavailable(): string | undefined {
  try {
    register(new Uint8Array(4096), { cudaPinned: true }).deregister();
    return undefined;
  } catch (error) {
    if (error instanceof FabricError && error.code === 'ENODEV') return error.message;
    throw error;
  }
}

describe('register({ cudaPinned })', () => {
  const unavailable = cudaUnavailable();

  it('rejects a cudaPinned that is not a boolean with EINVAL', () => {
    assert.throws(
      () => register(new Uint8Array(8), { cudaPinned: 'yes' as never }),
      (error: FabricError) => error.code === 'EINVAL',
    );
  });

  it('says with ENODEV that CUDA is not available, and registers nothing', function () {
    if (!unavailable) this.skip();
    const memory = new Uint8Array(1 << 20);
    assert.throws(
      () => register(memory, { cudaPinned: true }),
      (error: FabricError) =>
        error.code === 'ENODEV' && /libcuda|CUDA device|native addon/.test(error.message),
    );
    const region = register(memory);
    assert.equal(region.registered, true);
    region.deregister();
  });

  it('page-locks the memory on a CUDA host and unpins it on deregister', function () {
    if (unavailable) {
      console.log(`      skipped: ${unavailable}`);
      this.skip();
    }
    const memory = new Uint8Array(64 << 20);
    const region = register(memory, { cudaPinned: true });
    assert.throws(
      () => register(memory, { cudaPinned: true }),
      (error: FabricError) => error.code === 'EINVAL' && /page-locked already/.test(error.message),
    );
    region.deregister();
    // Unpinned: the same memory can be pinned again.
    register(memory, { cudaPinned: true }).deregister();
  });
});
