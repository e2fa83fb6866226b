// The device in this process: allocations are plain memory, kernels run at once.
import { type Allocation, Allocations, checkFits } from './allocations.js';
import type { Device, DevicePointer } from './device.js';
import { type KernelName, runKernel } from './kernels.js';

/** Device memory a local device may hand out. */
const LOCAL_BUDGET = 1 << 30;

export class LocalDevice implements Device {
  private readonly memory = new Allocations<Allocation>(LOCAL_BUDGET, (bytes) => ({
    bytes: new Uint8Array(bytes),
    release: () => {},
  }));

  async alloc(bytes: number): Promise<DevicePointer> {
    return this.memory.alloc(bytes);
  }

  async free(pointer: DevicePointer): Promise<void> {
    this.memory.free(pointer);
  }

  async copyIn(pointer: DevicePointer, host: Float32Array): Promise<void> {
    const target = this.memory.floats(pointer);
    checkFits(host.byteLength, target.byteLength, 'copyIn');
    target.set(host);
  }

  async copyOut(host: Float32Array, pointer: DevicePointer): Promise<void> {
    const source = this.memory.floats(pointer);
    checkFits(host.byteLength, source.byteLength, 'copyOut');
    host.set(source.subarray(0, host.length));
  }

  async launch(kernel: KernelName, args: readonly number[]): Promise<void> {
    runKernel(kernel, args, (pointer) => this.memory.floats(pointer));
  }

  async synchronize(): Promise<void> {}

  async close(): Promise<void> {
    this.memory.freeAll();
  }
}
