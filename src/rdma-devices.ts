import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RdmaPort {
  port: number;
  state: string;
  linkLayer: 'Ethernet' | 'InfiniBand' | string;
}

export interface RdmaDevice {
  name: string;
  ports: RdmaPort[];
}

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

/** RDMA devices as the kernel lists them in sysfs (no rdma-core needed to look). */
export function rdmaDevices(root = SYSFS): RdmaDevice[] {
  return listDir(root).map((name) => ({
    name,
    ports: listDir(join(root, name, 'ports')).map((port) => ({
      port: Number(port),
      // e.g. "4: ACTIVE"
      state: readText(join(root, name, 'ports', port, 'state')).replace(/^\d+:\s*/, ''),
      linkLayer: readText(join(root, name, 'ports', port, 'link_layer')),
    })),
  }));
}
