// Where each transport is measured on this host: both processes use one address, which its transport picks
// (for RDMA an address of the device: RDMA-CM cannot use 127.0.0.1), and the C tools run beside it there.
import { localTarget } from '../src/core/selection.js';
import { FabricError, type TransportInfo, type TransportKind } from '../src/index.js';

export interface BenchEndpoint {
  transport: TransportKind;
  host: string;
  device?: string;
  gidIndex?: number;
  /** The family of reference tools measured beside it (bench/peer-measurements.ts). */
  peers?: string;
}

/** The address (and device and GID) to measure `info`'s transport on; `host` overrides the address. */
export function benchEndpoint(info: TransportInfo, host: string | undefined): BenchEndpoint {
  if (!info.available) throw new FabricError('ENODEV', `${info.kind} is unavailable here: ${info.reason}`);
  const target = localTarget(info, host);
  if (typeof target === 'string') throw new FabricError('ENODEV', target);
  return { ...target, transport: info.kind };
}
