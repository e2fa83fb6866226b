// The device API an application is written against: a tiny accelerator with its own memory. Whether it runs
// in this process (LocalDevice) or on a server across the network (RemoteDevice) is the runtime's business.
import type { KernelName } from './kernels.js';

/** An allocation in device memory; meaningful only to the device (and client) that made it. */
export type DevicePointer = number;

export interface Device {
  /** Allocates `bytes` of device memory. */
  alloc(bytes: number): Promise<DevicePointer>;
  /** Frees an allocation. Like CUDA, asynchronous: an error surfaces at the next synchronous call. */
  free(pointer: DevicePointer): Promise<void>;
  /** Copies a host array into the start of an allocation. */
  copyIn(pointer: DevicePointer, host: Float32Array): Promise<void>;
  /** Copies the start of an allocation into a host array. */
  copyOut(host: Float32Array, pointer: DevicePointer): Promise<void>;
  /** Runs a kernel on device memory (arguments: numbers and pointers, kernels.ts). Asynchronous, like free. */
  launch(kernel: KernelName, args: readonly number[]): Promise<void>;
  /** Waits until everything launched has run; rejects with the first error since the last synchronous call. */
  synchronize(): Promise<void>;
  /** Releases the device (a remote one's connection). */
  close(): Promise<void>;
}

/** What a device refuses, with a stable code (EINVAL, EACCES, ERANGE, ENOMEM) as FabricError has. */
export class DeviceError extends Error {
  constructor(
    readonly code: 'EINVAL' | 'EACCES' | 'ERANGE' | 'ENOMEM',
    message: string,
  ) {
    super(message);
    this.name = 'DeviceError';
  }
}
