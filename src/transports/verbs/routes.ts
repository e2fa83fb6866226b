import { FabricError } from '../../api/errors.js';
import type { DeviceFilter, RdmaDevice } from '../../api/rdma-device.js';
import type { TransportInfo } from '../../api/transport-info.js';
import type { ResolvedOptions } from '../../core/options.js';
import { filterDevices, rdmaDevices } from './devices.js';
import { type VerbsNative, verbsNative } from './native.js';

export type VerbsKind = 'roce' | 'ib';

const LINK_LAYER: Record<VerbsKind, string> = { roce: 'Ethernet', ib: 'InfiniBand' };

/** The RDMA devices `filters` select, as the verbs layer (or else sysfs) lists them. */
function selectedDevices(verbs: VerbsNative | string, filters: DeviceFilter[]): RdmaDevice[] {
  return filterDevices(rdmaDevices(typeof verbs === 'string' ? undefined : verbs), filters);
}

function kindInfo(kind: VerbsKind, verbs: VerbsNative | string, all: RdmaDevice[]): TransportInfo {
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

/** RoCE and InfiniBand on this host: usable or why not, with the devices FABRIC_DEVICE selects. */
export function verbsAvailability(options: ResolvedOptions): TransportInfo[] {
  const verbs = verbsNative();
  const devices = selectedDevices(verbs, options.devices);
  return [kindInfo('roce', verbs, devices), kindInfo('ib', verbs, devices)];
}

/** The devices and ports a connection may use: FABRIC_DEVICE's filters, and FABRIC_IB_PORT. */
function usableDevices(options: ResolvedOptions): RdmaDevice[] {
  const devices = selectedDevices(verbsNative(), options.devices);
  if (options.ibPort === undefined) return devices;
  return devices
    .map((device) => ({ ...device, ports: device.ports.filter((port) => port.port === options.ibPort) }))
    .filter((device) => device.ports.length > 0);
}

/**
 * What a route that RDMA-CM resolved through `device`:`port` gives: the transport kind, or why this
 * connection may not use it (FABRIC_DEVICE or FABRIC_IB_PORT leave it out, the port is down).
 */
export function routeKind(device: string, port: number, options: ResolvedOptions): VerbsKind | string {
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
