import type { TransportKind } from './options.js';
import type { RdmaDevice } from './rdma-device.js';

/** One transport kind as `transports()` reports it. */
export interface TransportInfo {
  kind: TransportKind;
  available: boolean;
  /** Why the transport cannot be used here; absent when available. */
  reason?: string;
  /** RDMA devices with a port of this transport's link layer (the verbs transports). */
  devices?: RdmaDevice[];
  /**
   * How one-sided payloads move, where the transport has a choice. shm: `cma`, copied once by the kernel
   * straight between the two processes where it lets them reach each other (else through the ring), or
   * `ring`, copied into and out of the ring (FABRIC_SHM_COPY=ring).
   */
  path?: string;
}
