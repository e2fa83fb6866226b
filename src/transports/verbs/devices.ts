import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceFilter, RdmaDevice, RdmaGid, RdmaPort } from '../../api/rdma-device.js';
import type { VerbsNative } from './native.js';

const SYSFS = '/sys/class/infiniband';

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function gids(portDir: string): RdmaGid[] {
  const found: RdmaGid[] = [];
  for (const entry of listDir(join(portDir, 'gids'))) {
    const gid = readText(join(portDir, 'gids', entry));
    if (gid === '' || /^[0:]+$/.test(gid)) continue;
    const index = Number(entry);
    const mapped = /^0000:0000:0000:0000:0000:ffff:([0-9a-f]{4}):([0-9a-f]{4})$/.exec(gid);
    const netdev = readText(join(portDir, 'gid_attrs', 'ndevs', entry));
    const info: RdmaGid = { index, gid, type: readText(join(portDir, 'gid_attrs', 'types', entry)) };
    if (netdev) info.netdev = netdev;
    if (mapped) {
      const word = Number.parseInt(`${mapped[1]}${mapped[2]}`, 16);
      info.ipv4 = [word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff].join('.');
    }
    found.push(info);
  }
  return found.sort((a, b) => a.index - b.index);
}

/**
 * RDMA devices and their ports: what libibverbs reports when the addon is loaded (only devices it can
 * open), else what sysfs lists; GIDs always come from sysfs.
 */
export function rdmaDevices(addon: VerbsNative | undefined, root = SYSFS): RdmaDevice[] {
  if (addon?.devices) {
    return addon.devices().map((device) => ({
      name: device.name,
      ports: device.ports.map((port) => ({
        port: port.port,
        state: port.state,
        linkLayer: port.linkLayer,
        activeMtu: port.activeMtu,
        gids: gids(join(root, device.name, 'ports', String(port.port))),
      })),
    }));
  }
  return listDir(root).map((name) => ({
    name,
    ports: listDir(join(root, name, 'ports')).map((port) => ({
      port: Number(port),
      // e.g. "4: ACTIVE"
      state: readText(join(root, name, 'ports', port, 'state')).replace(/^\d+:\s*/, ''),
      linkLayer: readText(join(root, name, 'ports', port, 'link_layer')),
      gids: gids(join(root, name, 'ports', port)),
    })),
  }));
}

/**
 * Applies `FABRIC_DEVICE` / `device` filters: with any plain entries, only those devices (and ports, for
 * `dev:port`) remain; `^dev` and `^dev:port` entries remove theirs.
 */
export function filterDevices(devices: RdmaDevice[], filters: DeviceFilter[]): RdmaDevice[] {
  const matches = (filter: DeviceFilter, device: RdmaDevice, port: RdmaPort) =>
    filter.name === device.name && (filter.port === undefined || filter.port === port.port);
  const includes = filters.filter((filter) => !filter.exclude);
  const excludes = filters.filter((filter) => filter.exclude);
  return devices
    .map((device) => ({
      ...device,
      ports: device.ports.filter(
        (port) =>
          (includes.length === 0 || includes.some((filter) => matches(filter, device, port))) &&
          !excludes.some((filter) => matches(filter, device, port)),
      ),
    }))
    .filter((device) => device.ports.length > 0);
}
