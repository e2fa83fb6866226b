import { join, resolve } from 'node:path';

/** What native/verbs/devices.cc reports for one device. */
export interface NativeDevice {
  name: string;
  error?: string;
  ports: {
    port: number;
    state: string;
    linkLayer: string;
    activeMtu: number;
    maxMtu: number;
    gidTableLength: number;
  }[];
}

/** Registered memory on one device (native/verbs/memory_region.h). */
export interface NativeMemoryRegion {
  lkey: number;
  rkey: number;
  address: bigint;
  deregister(): void;
}

export type EndpointEvent =
  | 'route-resolved'
  | 'connect-request'
  | 'established'
  | 'disconnected'
  | 'rejected'
  | 'error'
  | 'completions';

/** One RDMA-CM id with its queue pair (native/verbs/endpoint.h documents the events). */
export interface NativeEndpoint {
  listen(host: string, port: number, backlog: number): number;
  /** Address, then route resolution; `sourceHost` picks the local address (and so device and GID). */
  resolve(host: string, port: number, timeoutMs: number, sourceHost?: string): void;
  setup(sendDepth: number, recvDepth: number, maxInline: number): number;
  connect(privateData: Uint8Array): void;
  accept(privateData: Uint8Array): void;
  /** Rejects a connection request, with up to 148 bytes of private data saying why. */
  reject(reason?: Uint8Array): void;
  disconnect(): void;
  destroy(): void;
  setCallback(onEvent: (event: EndpointEvent, ...args: unknown[]) => void): void;
  deviceName(): string | undefined;
  portNumber(): number | undefined;
  register(memory: Uint8Array, access: number): NativeMemoryRegion;
  /** opcode 0 send, 1 RDMA write, 2 RDMA read; flags as ibv_send_flags; returns an errno (0: posted). */
  postSend(
    wrId: number,
    opcode: number,
    address: bigint,
    length: number,
    lkey: number,
    remoteAddress: bigint,
    rkey: number,
    flags: number,
  ): number;
  postRecv(wrId: number, address: bigint, length: number, lkey: number): number;
  /** Busy-polls the CQ for up to `spinMicros` until something completes: [wrId, status, opcode, byteLength] * n. */
  pollCompletions(spinMicros: number): Uint32Array;
}

/** The addon's interface version this code calls (native/common/addon.cc, kInterface). */
const ADDON_INTERFACE = 2;

export interface NativeAddon {
  /** Raised with every change to the functions' arguments or results. */
  interface: number;
  /** The most parts one socketWrite() takes. */
  maxWriteParts: number;
  /** Whether the verbs layer loaded, and how many RDMA-CM ids are alive. */
  status(): { loaded: boolean; reason?: string; endpoints?: number; forkSafety?: 'kernel' | 'dontfork' };
  /** Gathered write of at most maxWriteParts parts to a socket: bytes the kernel took (maybe fewer), or -errno. */
  socketWrite(fd: number, ...parts: Uint8Array[]): number;
  /** Reads into `target`, busy-polling up to `spinMicros`: bytes, 0 at end of stream, -errno (-EAGAIN: none yet). */
  socketRead(fd: number, target: Uint8Array, spinMicros: number): number;
  /** Fails the socket with ETIMEDOUT once the peer acknowledged nothing for `millis`: 0 or -errno. */
  socketKeepalive(fd: number, millis: number): number;
  /** Page-locks memory for CUDA DMA: status 0, -1 without CUDA (no driver, no device), else the CUresult. */
  cudaHostRegister(bytes: Uint8Array): { status: number; message?: string };
  cudaHostUnregister(bytes: Uint8Array): { status: number; message?: string };
  /** Calls `onReadable` whenever the socket `fd` has bytes (it watches a duplicate of the descriptor). */
  SocketWatcher: new (
    fd: number,
    onReadable: () => void,
  ) => { close(): void };
  devices?(): NativeDevice[];
  Endpoint?: new (onEvent: (event: EndpointEvent, ...args: unknown[]) => void) => NativeEndpoint;
}

const ROOT = join(__dirname, '..', '..');
const FILE = 'fabric_transport.node';

function load(): NativeAddon | string {
  // FABRIC_NATIVE_ADDON alone where it is set (a sanitized build, say); else the packaged prebuild, then a
  // local build (npm run build:native).
  const chosen = process.env.FABRIC_NATIVE_ADDON ? resolve(process.env.FABRIC_NATIVE_ADDON) : undefined;
  const candidates = chosen
    ? [chosen]
    : [
        join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`, FILE),
        join(ROOT, 'build', 'Release', FILE),
      ];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      const addon = require(candidate) as NativeAddon;
      if (addon.interface === ADDON_INTERFACE) return addon;
      failures.push(
        `${candidate} was built from other sources (interface ${addon.interface ?? 1}, this code calls ${ADDON_INTERFACE}): run npm run build:native`,
      );
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code !== 'MODULE_NOT_FOUND' || chosen) failures.push(`${candidate}: ${message}`);
    }
  }
  return failures.length > 0
    ? `the native addon failed to load (${failures.join('; ')})`
    : `the native addon is not built for ${process.platform}-${process.arch}: run npm run build:native (needs a C++ compiler)`;
}

let cached: NativeAddon | string | undefined;

/** The native addon, or why it is not available. Loaded once, on first use. */
export function nativeAddon(): NativeAddon | string {
  cached ??= load();
  return cached;
}
