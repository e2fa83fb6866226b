import { FabricError } from '../api/errors.js';
import { filterDevices, type RdmaDevice, rdmaDevices } from '../transports/verbs/devices.js';
import { type NativeAddon, nativeAddon } from './native-addon.js';
import {
  type DeviceFilter,
  type ResolvedOptions,
  resolveOptions,
  type TransportKind,
  type TransportOptions,
} from './options.js';

export interface TransportInfo {
  kind: TransportKind;
  available: boolean;
  /** Why the transport cannot be used here; absent when available. */
  reason?: string;
  /** RDMA devices with a port of this transport's link layer. */
  devices?: RdmaDevice[];
}

const LINK_LAYER: Record<'roce' | 'ib', string> = { roce: 'Ethernet', ib: 'InfiniBand' };

/** The verbs layer, or why it cannot be used on this host. */
function verbsLayer(): NativeAddon | string {
  const addon = nativeAddon();
  if (typeof addon === 'string') return addon;
  const status = addon.status();
  return status.loaded ? addon : (status.reason ?? 'the verbs layer did not load');
}

function rdmaInfo(kind: 'roce' | 'ib', verbs: NativeAddon | string, all: RdmaDevice[]): TransportInfo {
  const linkLayer = LINK_LAYER[kind];
  const devices = all.filter((device) => device.ports.some((port) => port.linkLayer === linkLayer));
  const active = devices.filter((device) =>
    device.ports.some((port) => port.linkLayer === linkLayer && port.state === 'ACTIVE'),
  );
  const describe = (list: RdmaDevice[]) =>
    list
      .map((d) => `${d.name} (${d.ports.map((p) => `port ${p.port} ${p.linkLayer} ${p.state}`).join(', ')})`)
      .join(', ');
  let reason: string;
  if (typeof verbs === 'string') reason = verbs;
  else if (devices.length === 0)
    reason = `no RDMA device with an ${linkLayer} link layer (${all.length === 0 ? 'none found' : `found ${describe(all)}`})`;
  else if (active.length === 0)
    reason = `no ${linkLayer} RDMA port is ACTIVE (found ${describe(devices)}): check the link`;
  else return { kind, available: true, devices };
  return { kind, available: false, reason, devices };
}

/**
 * Every transport with whether it can be used on this host, and why not. RDMA devices are those that
 * `device` (default: FABRIC_DEVICE) selects.
 */
export function transports(options: Pick<TransportOptions, 'device'> = {}): TransportInfo[] {
  return transportsFor(resolveOptions(options).devices);
}

/** The RDMA devices `filters` select, as the verbs layer (or else sysfs) lists them. */
function selectedDevices(verbs: NativeAddon | string, filters: DeviceFilter[]): RdmaDevice[] {
  return filterDevices(rdmaDevices(typeof verbs === 'string' ? undefined : verbs), filters);
}

/** transports() for already parsed FABRIC_DEVICE filters. */
export function transportsFor(filters: DeviceFilter[]): TransportInfo[] {
  const verbs = verbsLayer();
  const devices = selectedDevices(verbs, filters);
  return [{ kind: 'tcp', available: true }, rdmaInfo('roce', verbs, devices), rdmaInfo('ib', verbs, devices)];
}

/** The transport to use for a connection: a forced one must be usable; 'auto' takes the best usable one. */
export function chooseTransport(options: ResolvedOptions): TransportKind {
  const choice = options.transport;
  // TCP is always there: no need to open every RDMA device to confirm it.
  if (choice === 'tcp') return choice;
  const infos = transportsFor(options.devices);
  if (choice === 'auto') {
    const best = ['ib', 'roce', 'tcp'].map((kind) =>
      infos.find((info) => info.kind === kind && info.available),
    );
    return (best.find((info) => info !== undefined) as TransportInfo).kind;
  }
  const info = infos.find((candidate) => candidate.kind === choice) as TransportInfo;
  if (!info.available) {
    throw new FabricError('ENODEV', `transport '${choice}' cannot be used here: ${info.reason}`);
  }
  return choice;
}

/** The devices and ports a connection may use: FABRIC_DEVICE's filters, and FABRIC_IB_PORT. */
function usableDevices(options: ResolvedOptions): RdmaDevice[] {
  const devices = selectedDevices(verbsLayer(), options.devices);
  if (options.ibPort === undefined) return devices;
  return devices
    .map((device) => ({ ...device, ports: device.ports.filter((port) => port.port === options.ibPort) }))
    .filter((device) => device.ports.length > 0);
}

/**
 * What a route that RDMA-CM resolved through `device`:`port` gives: the transport kind, or why this
 * connection may not use it (FABRIC_DEVICE or FABRIC_IB_PORT leave it out, the port is down).
 */
export function routeKind(device: string, port: number, options: ResolvedOptions): 'roce' | 'ib' | string {
  const found = usableDevices(options)
    .find((candidate) => candidate.name === device)
    ?.ports.find((candidate) => candidate.port === port);
  if (!found) return `it goes through ${device} port ${port}, which FABRIC_DEVICE / FABRIC_IB_PORT leave out`;
  if (found.state !== 'ACTIVE') return `it goes through ${device} port ${port}, which is ${found.state}`;
  return found.linkLayer === 'InfiniBand' ? 'ib' : 'roce';
}

/** The local address of GID `options.gidIndex` on the usable devices (FABRIC_GID_INDEX), if one is set. */
export function gidSourceAddress(options: ResolvedOptions): string | undefined {
  const index = options.gidIndex;
  if (index === undefined) return undefined;
  for (const device of usableDevices(options)) {
    for (const port of device.ports) {
      const gid = port.gids.find((candidate) => candidate.index === index);
      if (gid?.ipv4) return gid.ipv4;
    }
  }
  throw new FabricError(
    'ENODEV',
    `FABRIC_GID_INDEX=${index}: no usable RDMA port has a GID with an IPv4 address at that index: ` +
      'list the GIDs with `fabric-transport info`',
  );
}
