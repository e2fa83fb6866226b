import { FabricError } from '../api/errors.js';
import type { TransportChoice, TransportKind, TransportOptions } from '../api/options.js';
import type { TransportInfo } from '../api/transport-info.js';
import { TRANSPORTS } from '../transports/registry.js';
import type { LocalTarget, Transport } from '../transports/transport.js';
import { type ResolvedOptions, resolveOptions } from './options.js';

/**
 * Every transport kind with whether it can be used on this host, and why not. `options` (default: the
 * FABRIC_* variables) narrow what a transport looks at, e.g. `device` the RDMA devices.
 */
export function transports(options: TransportOptions = {}): TransportInfo[] {
  return availability(resolveOptions(options));
}

/** transports() for already resolved options. */
export function availability(options: ResolvedOptions): TransportInfo[] {
  return TRANSPORTS.flatMap((transport: Transport) => transport.availability(options));
}

/** One transport that a listener or connection may use, and the kind it was asked for (undefined: 'auto'). */
export interface Candidate {
  transport: Transport;
  kind: string | undefined;
}

/** The registered transports, the one 'auto' tries first first. */
export function byPriority(): Transport[] {
  return [...TRANSPORTS].sort((a, b) => b.priority - a.priority);
}

/**
 * The transports `choice` allows, best first: the forced one, which must be usable here (ENODEV with the
 * reason otherwise), or with 'auto' every transport with a usable kind.
 */
export function candidatesFor(choice: TransportChoice, options: ResolvedOptions): Candidate[] {
  if (choice === 'auto') {
    return byPriority()
      .filter((transport) => transport.availability(options).some((info) => info.available))
      .map((transport) => ({ transport, kind: undefined }));
  }
  const transport = TRANSPORTS.find((candidate: Transport) => candidate.kinds.includes(choice)) as Transport;
  const info = transport
    .availability(options)
    .find((candidate) => candidate.kind === choice) as TransportInfo;
  if (!info.available) {
    throw new FabricError('ENODEV', `transport '${choice}' cannot be used here: ${info.reason}`);
  }
  return [{ transport, kind: choice as TransportKind }];
}

/** Where a client and a server on this host meet over `info`'s kind (`host`: at that address), or why not. */
export function localTarget(info: TransportInfo, host: string | undefined): LocalTarget | string {
  const transport = TRANSPORTS.find((candidate: Transport) =>
    candidate.kinds.includes(info.kind),
  ) as Transport;
  return transport.localTarget(info, host);
}
