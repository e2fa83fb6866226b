import { nativePart } from '../../core/native-addon.js';

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

/** Registered memory on one device (native/verbs/memory_region.cc). */
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

/** The addon's verbs layer (native/verbs/): present in every build, loaded only where rdma-core is. */
export interface VerbsNative {
  /** Whether the verbs layer loaded, and how many RDMA-CM ids are alive. */
  status(): { loaded: boolean; reason?: string; endpoints?: number; forkSafety?: 'kernel' | 'dontfork' };
  devices?(): NativeDevice[];
  Endpoint?: new (onEvent: (event: EndpointEvent, ...args: unknown[]) => void) => NativeEndpoint;
}

/** The verbs layer, or why it cannot be used on this host. */
export function verbsNative(): VerbsNative | string {
  const addon = nativePart<VerbsNative>();
  if (typeof addon === 'string') return addon;
  const status = addon.status();
  return status.loaded ? addon : (status.reason ?? 'the verbs layer did not load');
}
