import { networkInterfaces } from 'node:os';
import type { TransportInfo } from '../../api/transport-info.js';
import type { LocalTarget } from '../transport.js';

function ipv4Of(netdev: string | undefined): string | undefined {
  return networkInterfaces()[netdev ?? '']?.find((address) => address.family === 'IPv4')?.address;
}

/**
 * An address of an active port of `info`'s kind (RDMA-CM cannot use 127.0.0.1), with its device and GID: both
 * ends use it; `host` asks for that address.
 */
export function localTarget(info: TransportInfo, host: string | undefined): LocalTarget | string {
  for (const device of info.devices ?? []) {
    for (const port of device.ports) {
      const roce = port.linkLayer === 'Ethernet';
      if (port.state !== 'ACTIVE' || roce !== (info.kind === 'roce')) continue;
      // RoCE v2 first: the type RDMA-CM uses by default, and the one that routes.
      const gids = [...port.gids].sort((a, b) => Number(b.type === 'RoCE v2') - Number(a.type === 'RoCE v2'));
      for (const gid of gids) {
        // A RoCE GID carries its address; an InfiniBand port's address is its IPoIB interface's.
        const address = roce ? gid.ipv4 : ipv4Of(gid.netdev);
        if (address === undefined || (host !== undefined && address !== host)) continue;
        const target = { transport: info.kind, host: address, device: device.name, peers: 'verbs' };
        return roce ? { ...target, gidIndex: gid.index } : target;
      }
    }
  }
  return host === undefined
    ? `no active ${info.kind} port here has an IPv4 address to measure on: give one with --host`
    : `no active ${info.kind} port here has the address ${host}`;
}
