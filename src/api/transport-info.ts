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
}
