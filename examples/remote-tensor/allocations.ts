// One client's device memory: its allocations by pointer, within a byte budget. Pointers are unique in the
// whole process, so a pointer of one client is never one of another's: using it gets EACCES.
import { DeviceError, type DevicePointer } from './device.js';

let lastPointer = 0;

export interface Allocation {
  readonly bytes: Uint8Array;
  release(): void;
}

export class Allocations<A extends Allocation> {
  private readonly table = new Map<DevicePointer, A>();
  private used = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly allocate: (bytes: number) => A,
  ) {}

  alloc(bytes: unknown): DevicePointer {
    if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 4 !== 0) {
      throw new DeviceError(
        'EINVAL',
        `alloc takes a positive multiple of 4 bytes (float32), got ${String(bytes)}`,
      );
    }
    if (this.used + bytes > this.budgetBytes) {
      throw new DeviceError(
        'ENOMEM',
        `out of device memory: ${this.used} of ${this.budgetBytes} bytes in use, ${bytes} more asked`,
      );
    }
    const allocation = this.allocate(bytes);
    this.used += bytes;
    this.table.set(++lastPointer, allocation);
    return lastPointer;
  }

  /** The allocation behind `pointer`; EACCES when this client did not allocate it (or freed it). */
  get(pointer: unknown): A {
    const allocation = typeof pointer === 'number' ? this.table.get(pointer) : undefined;
    if (!allocation)
      throw new DeviceError('EACCES', `${String(pointer)} is not an allocation of this client`);
    return allocation;
  }

  floats(pointer: DevicePointer): Float32Array {
    const { bytes } = this.get(pointer);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }

  free(pointer: unknown): void {
    const allocation = this.get(pointer);
    this.table.delete(pointer as DevicePointer);
    this.used -= allocation.bytes.length;
    allocation.release();
  }

  freeAll(): void {
    for (const pointer of [...this.table.keys()]) this.free(pointer);
  }
}

/** Checks that `bytes` fit at the start of an allocation of `capacity` bytes. */
export function checkFits(bytes: number, capacity: number, what: string): void {
  if (bytes > capacity)
    throw new DeviceError('ERANGE', `${what}: ${bytes} bytes do not fit an allocation of ${capacity}`);
}
