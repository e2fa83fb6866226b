import type { ResolvedOptions } from '../options.js';
import type { RdmaDevice } from '../rdma-devices.js';
import { type TransportInfo, transportsFor } from '../selection.js';
import { probeRoute, type RouteChoice } from '../transports/verbs/route-probe.js';
import { Flags, optionSpecs, resolvedOptions } from './arguments.js';

export const INFO_USAGE = `usage: fabric-transport info [--peer HOST] [--device LIST] [--json]

Every transport, available or why not; RDMA devices with their ports, states, link layers, MTUs and GIDs
(index, type, address).

  --peer HOST     also say which transport 'auto' would use to reach HOST, through which device, and why
                  (RDMA-CM resolves the route; nothing connects)
  --device LIST   only these devices, in FABRIC_DEVICE's syntax (mlx5_0:1,^mlx5_2)
  --json          the report as JSON
`;

const INFO_OPTIONS = optionSpecs(['peer', 'device'], ['json']);

export interface InfoReport {
  node: string;
  platform: string;
  transports: TransportInfo[];
  peer?: { host: string } & RouteChoice;
}

/** What `fabric-transport info` reports: every transport and why not, RDMA devices, and the choice for a peer. */
export async function infoReport(peer: string | undefined, options: ResolvedOptions): Promise<InfoReport> {
  const report: InfoReport = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    transports: transportsFor(options.devices),
  };
  if (peer !== undefined) report.peer = { host: peer, ...(await probeRoute(peer, options)) };
  return report;
}

function devicesOf(infos: TransportInfo[]): RdmaDevice[] {
  const byName = new Map<string, RdmaDevice>();
  for (const info of infos) for (const device of info.devices ?? []) byName.set(device.name, device);
  return [...byName.values()];
}

/** The report as text for a person. */
export function formatInfo(report: InfoReport): string {
  const lines = [`fabric-transport on ${report.platform}, Node ${report.node}`, '', 'transports:'];
  for (const info of report.transports) {
    lines.push(`  ${info.kind.padEnd(5)} ${info.available ? 'available' : `unavailable: ${info.reason}`}`);
  }
  const devices = devicesOf(report.transports);
  lines.push('', devices.length > 0 ? 'RDMA devices:' : 'RDMA devices: none');
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
  if (report.peer) {
    lines.push('', `peer ${report.peer.host}: 'auto' uses ${report.peer.transport}: ${report.peer.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function infoCommand(args: string[]): Promise<void> {
  const flags = Flags.parse(args, INFO_OPTIONS);
  const device = flags.text('device');
  const options = resolvedOptions(device === undefined ? {} : { device });
  const report = await infoReport(flags.text('peer'), options);
  process.stdout.write(flags.has('json') ? `${JSON.stringify(report, null, 2)}\n` : formatInfo(report));
}
