// The client proxy: the same Device API, each call forwarded as one small message to the device server.
// copyIn and copyOut send only a descriptor of the caller's host array, registered once and reused, and the
// server moves the data with a one-sided read or write. `transfer: 'inline'` is the naive baseline instead:
// the tensor travels inside the call messages (the benchmark measures both).
import { type Connection, connect, type Region, register, type TransportOptions } from '../../src/index.js';
import { decodeReply, encodeCall, Op } from './calls.js';
import { type Device, DeviceError, type DevicePointer } from './device.js';
import { KERNEL_NAMES, type KernelName } from './kernels.js';

export type Transfer = 'zero-copy' | 'inline';

export interface RemoteDeviceOptions extends TransportOptions {
  host: string;
  port: number;
  transfer?: Transfer;
}

export class RemoteDevice implements Device {
  /** Host arrays registered so far, by their memory: each is registered once and reused. */
  private readonly hostRegions = new WeakMap<ArrayBufferLike, Region[]>();
  private readonly registered: Region[] = [];
  /** Calls go out, and replies come back, one call at a time and in order. */
  private previous: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly connection: Connection,
    private readonly transfer: Transfer,
  ) {}

  static async connect(options: RemoteDeviceOptions): Promise<RemoteDevice> {
    const { transfer = 'zero-copy', ...connectOptions } = options;
    return RemoteDevice.over(await connect(connectOptions), transfer);
  }

  /** A device on a connection already open to a device server; close() closes the connection. */
  static over(connection: Connection, transfer: Transfer = 'zero-copy'): RemoteDevice {
    return new RemoteDevice(connection, transfer);
  }

  /** Host arrays registered so far (each once, however often it is copied). */
  get hostRegistrations(): number {
    return this.registered.length;
  }

  async alloc(bytes: number): Promise<DevicePointer> {
    const reply = await this.call(encodeCall(Op.Alloc, { bytes }), true);
    return Buffer.from(reply.buffer, reply.byteOffset, reply.length).readUInt32LE(0);
  }

  async free(pointer: DevicePointer): Promise<void> {
    await this.call(encodeCall(Op.Free, { pointer }), false);
  }

  async copyIn(pointer: DevicePointer, host: Float32Array): Promise<void> {
    const bytes = host.byteLength;
    const call =
      this.transfer === 'inline'
        ? encodeCall(Op.CopyInInline, { pointer, data: new Uint8Array(host.buffer, host.byteOffset, bytes) })
        : encodeCall(Op.CopyIn, { pointer, bytes, descriptor: this.hostRegion(host).descriptor });
    await this.call(call, true);
  }

  async copyOut(host: Float32Array, pointer: DevicePointer): Promise<void> {
    const bytes = host.byteLength;
    if (this.transfer === 'inline') {
      const data = await this.call(encodeCall(Op.CopyOutInline, { pointer, bytes }), true);
      new Uint8Array(host.buffer, host.byteOffset, bytes).set(data);
      return;
    }
    await this.call(
      encodeCall(Op.CopyOut, { pointer, bytes, descriptor: this.hostRegion(host).descriptor }),
      true,
    );
  }

  async launch(kernel: KernelName, args: readonly number[]): Promise<void> {
    if (!KERNEL_NAMES.includes(kernel) || args.length > 255) {
      throw new DeviceError('EINVAL', `no kernel named ${String(kernel)} with ${args.length} arguments`);
    }
    await this.call(encodeCall(Op.Launch, { kernel, args: [...args] }), false);
  }

  async synchronize(): Promise<void> {
    await this.call(encodeCall(Op.Synchronize), true);
  }

  async close(): Promise<void> {
    await this.previous.catch(() => {});
    await this.connection.close();
    for (const region of this.registered) region.deregister();
  }

  /** Sends a call after the previous one completed; with `answered`, waits for its reply's payload. */
  private call(message: Uint8Array, answered: boolean): Promise<Uint8Array> {
    const done = this.previous.then(async () => {
      await this.connection.send(message);
      return answered ? decodeReply(await this.connection.receive()) : new Uint8Array(0);
    });
    this.previous = done.catch(() => {});
    return done;
  }

  /** The registration of exactly this host array's bytes, made on first use and granted to this server only. */
  private hostRegion(host: Float32Array): Region {
    const regions = this.hostRegions.get(host.buffer) ?? [];
    const bytes = new Uint8Array(host.buffer, host.byteOffset, host.byteLength);
    let region = regions.find((r) => r.bytes.byteOffset === bytes.byteOffset && r.length === bytes.length);
    if (!region) {
      region = register(bytes, { peers: [this.connection] });
      regions.push(region);
      this.hostRegions.set(host.buffer, regions);
      this.registered.push(region);
    }
    return region;
  }
}
