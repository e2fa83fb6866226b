// Where each transport is measured on this host: both processes use one address, which for RDMA must be an
// address of the device (RDMA-CM cannot use 127.0.0.1), and perftest runs on that device and GID.
import { networkInterfaces } from 'node:os';
import { FabricError, type TransportInfo, type TransportKind } from '../src/index.js';

export interface BenchEndpoint {
  transport: TransportKind;
  host: string;
  device?: string;
  gidIndex?: number;
}

function ipv4Of(netdev: string | undefined): string | undefined {
  return networkInterfaces()[netdev ?? '']?.find((address) => address.family === 'IPv4')?.address;
}

/** The address, device and GID index to measure `info`'s transport on; `host` overrides the address. */
export function benchEndpoint(info: TransportInfo, host: string | undefined): BenchEndpoint {
  if (!info.available) throw new FabricError('ENODEV', `${info.kind} is unavailable here: ${info.reason}`);
  if (info.kind === 'tcp') return { transport: 'tcp', host: host ?? '127.0.0.1' };
  for (const device of info.devices ?? []) {
    for (const port of device.ports) {
      if (port.state !== 'ACTIVE') continue;
      // RoCE v2 first: the type RDMA-CM uses by default, and the one that routes.
      const gids = [...port.gids].sort((a, b) => Number(b.type === 'RoCE v2') - Number(a.type === 'RoCE v2'));
      for (const gid of gids) {
        // A RoCE GID carries its address; an InfiniBand port's address is its IPoIB interface's.
        const address = info.kind === 'roce' ? gid.ipv4 : ipv4Of(gid.netdev);
        if (address === undefined || (host !== undefined && address !== host)) continue;
        return info.kind === 'roce'
          ? { transport: 'roce', host: address, device: device.name, gidIndex: gid.index }
          : { transport: 'ib', host: address, device: device.name };
      }
    }
  }
  throw new FabricError(
    'ENODEV',
    host === undefined
      ? `no active ${info.kind} port here has an IPv4 address to measure on: give one with --host`
      : `no active ${info.kind} port here has the address ${host}`,
  );
}
