import { randomBytes } from 'node:crypto';
import { pinForCuda } from '../core/cuda-pinning.js';
import { ACCESS_READ, ACCESS_WRITE, encodeDescriptor } from '../protocol/descriptor.js';
import { FabricError } from './errors.js';

/** What peers may do to a region with one-sided operations. */
export type Access = 'read' | 'write' | 'read-write';

export interface RegisterOptions {
  /** Remote access granted through the descriptor (default 'read-write'). Local use is always allowed. */
  access?: Access;
  /**
   * Connections allowed to use the region remotely. Absent: any connection of this process that is handed the
   * descriptor. Present: every other connection gets EACCES, even with a valid descriptor.
   */
  peers?: readonly object[];
  /**
   * Also page-lock the memory for CUDA DMA (cuMemHostRegister), so that a GPU server's host-to-device copies
   * from it run at full speed; unpinned on deregister. ENODEV where CUDA is not available.
   */
  cudaPinned?: boolean;
}

const ACCESS_BITS: Record<Access, number> = {
  read: ACCESS_READ,
  write: ACCESS_WRITE,
  'read-write': ACCESS_READ | ACCESS_WRITE,
};

/** Registered regions of this process by key: what the owner side consults on every one-sided operation. */
const registry = new Map<bigint, Region>();

function newKey(): bigint {
  for (;;) {
    const key = randomBytes(8).readBigUInt64LE(0);
    if (key !== 0n && !registry.has(key)) return key;
  }
}

/** Memory registered for zero-copy transfers and one-sided operations. Create it with `register()`. */
export class Region {
  /** The registered memory itself (not a copy). */
  readonly bytes: Uint8Array;
  /** Opaque bytes to send to a peer so it can `write`/`read` this region. Carries no address. */
  readonly descriptor: Uint8Array;
  readonly access: Access;
  /** @internal */
  readonly key: bigint;
  /** @internal */
  readonly accessBits: number;
  private readonly peers: WeakSet<object> | undefined;
  private live = true;
  private readonly releasers = new Set<() => void>();

  /** @internal use register() */
  constructor(bytes: Uint8Array, access: Access, peers: readonly object[] | undefined) {
    this.bytes = bytes;
    this.access = access;
    this.accessBits = ACCESS_BITS[access];
    this.peers = peers ? new WeakSet(peers) : undefined;
    this.key = newKey();
    this.descriptor = encodeDescriptor({ key: this.key, length: bytes.length, access: this.accessBits });
    registry.set(this.key, this);
  }

  get length(): number {
    return this.bytes.length;
  }

  get registered(): boolean {
    return this.live;
  }

  /** A view of `length` bytes at `offset`, usable as the local side of `write` and `read`. */
  slice(offset = 0, length = this.bytes.length - offset): RegionSlice {
    return new RegionSlice(this, offset, length);
  }

  /**
   * Forgets the key and releases the memory's registrations with RDMA devices: peers using the descriptor
   * from now on get EACCES. Idempotent.
   */
  deregister(): void {
    if (!this.live) return;
    this.live = false;
    registry.delete(this.key);
    const releasers = [...this.releasers];
    this.releasers.clear();
    for (const release of releasers) release();
  }

  /** @internal runs `release` when the region is deregistered; returns a function that cancels it */
  onDeregister(release: () => void): () => void {
    this.releasers.add(release);
    return () => this.releasers.delete(release);
  }

  /** @internal whether `connection` may use this region remotely */
  permits(connection: object): boolean {
    return this.peers === undefined || this.peers.has(connection);
  }
}

/** A byte range of a registered region. */
export class RegionSlice {
  /** Same as region.slice(offset, length). */
  constructor(
    readonly region: Region,
    readonly offset: number,
    readonly length: number,
  ) {
    if (!(region instanceof Region))
      throw new FabricError('EINVAL', 'a RegionSlice needs a registered Region');
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FabricError(
        'EINVAL',
        `slice(${offset}, ${length}): offset and length must be non-negative integers`,
      );
    }
    if (offset + length > region.bytes.length) {
      throw new FabricError(
        'ERANGE',
        `slice(${offset}, ${length}) passes the end of the region (${region.bytes.length} bytes)`,
      );
    }
  }

  /** The slice's memory (a view of the region, not a copy). */
  get bytes(): Uint8Array {
    return this.region.bytes.subarray(this.offset, this.offset + this.length);
  }
}

/** Registers memory for zero-copy transfers. Accepts an ArrayBuffer or any ArrayBufferView (Buffer, typed array). */
export function register(memory: ArrayBufferLike | ArrayBufferView, options: RegisterOptions = {}): Region {
  let bytes: Uint8Array;
  if (ArrayBuffer.isView(memory)) {
    bytes = new Uint8Array(memory.buffer, memory.byteOffset, memory.byteLength);
  } else if (
    memory instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && memory instanceof SharedArrayBuffer)
  ) {
    bytes = new Uint8Array(memory);
  } else {
    throw new FabricError(
      'EINVAL',
      'register() takes an ArrayBuffer or an ArrayBufferView (Buffer, typed array)',
    );
  }
  if (bytes.length === 0) throw new FabricError('EINVAL', 'register() needs at least one byte of memory');
  const access = options.access ?? 'read-write';
  if (!Object.hasOwn(ACCESS_BITS, access)) {
    throw new FabricError(
      'EINVAL',
      `access must be 'read', 'write' or 'read-write', got ${JSON.stringify(access)}`,
    );
  }
  if (
    options.peers !== undefined &&
    (!Array.isArray(options.peers) ||
      !options.peers.every(
        (peer) => (typeof peer === 'object' && peer !== null) || typeof peer === 'function',
      ))
  ) {
    throw new FabricError('EINVAL', 'peers must be an array of connections');
  }
  if (options.cudaPinned !== undefined && typeof options.cudaPinned !== 'boolean') {
    throw new FabricError('EINVAL', 'cudaPinned must be true or false');
  }
  const region = new Region(bytes, access, options.peers);
  if (options.cudaPinned) {
    try {
      region.onDeregister(pinForCuda(bytes));
    } catch (error) {
      region.deregister();
      throw error;
    }
  }
  return region;
}

/** @internal owner side: the region under `key` if `connection` may use it remotely, or why not */
export function grantedRegion(key: bigint, connection: object): Region | FabricError {
  const region = registry.get(key);
  if (region?.permits(connection)) return region;
  return new FabricError(
    'EACCES',
    'no region with this key is registered for this connection (deregistered, or not granted to it)',
  );
}

/** @internal whether `length` bytes at `offset` of a region of `regionLength` bytes allow `access` */
export function checkRegionAccess(
  regionAccess: number,
  regionLength: number,
  offset: number,
  length: number,
  access: number,
): FabricError | undefined {
  if ((regionAccess & access) === 0) {
    return new FabricError(
      'EACCES',
      `the region does not allow remote ${access === ACCESS_WRITE ? 'write' : 'read'}`,
    );
  }
  if (offset + length > regionLength) {
    return new FabricError(
      'ERANGE',
      `${length} bytes at offset ${offset} pass the end of the region (${regionLength} bytes)`,
    );
  }
  return undefined;
}

/** Normalises the local side of a one-sided operation. */
export function localSlice(target: unknown, what: string): RegionSlice {
  const slice = target instanceof Region ? target.slice() : target;
  if (!(slice instanceof RegionSlice)) {
    throw new FabricError(
      'EINVAL',
      `${what} needs a registered Region or region.slice(...) as its local memory`,
    );
  }
  if (!slice.region.registered) {
    throw new FabricError('EINVAL', `${what}: the local region was deregistered; register the memory again`);
  }
  return slice;
}
