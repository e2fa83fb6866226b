import type { RdmaDevice } from '../../api/rdma-device.js';
import type { TransportInfo } from '../../api/transport-info.js';

/** The RDMA devices in `fabric-transport info`: ports, states, link layers, MTUs and GIDs. */
export function describeDevices(infos: readonly TransportInfo[]): string[] {
  const byName = new Map<string, RdmaDevice>();
  for (const info of infos) for (const device of info.devices ?? []) byName.set(device.name, device);
  const devices = [...byName.values()];
  const lines = [devices.length > 0 ? 'RDMA devices:' : 'RDMA devices: none'];
  for (const device of devices) {
    for (const port of device.ports) {
      lines.push(
        `  ${device.name} port ${port.port}: ${port.state}, ${port.linkLayer}${port.activeMtu ? `, MTU ${port.activeMtu}` : ''}`,
      );
      for (const gid of port.gids) {
        const where = [gid.netdev, gid.ipv4].filter(Boolean).join(' ');
        lines.push(
          `    GID ${String(gid.index).padStart(3)}  ${gid.gid}  ${gid.type}${where ? `  ${where}` : ''}`,
        );
      }
    }
  }
  return lines;
}
