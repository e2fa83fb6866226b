import { FabricError } from '../api/errors.js';
import type { TransportInfo } from '../api/transport-info.js';
import type { ResolvedOptions } from '../core/options.js';
import { availability, byPriority } from '../core/selection.js';
import { TRANSPORTS } from '../transports/registry.js';
import type { RouteChoice, Transport } from '../transports/transport.js';
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

/**
 * Which transport 'auto' would use for `host`: the best one whose probe finds a way there, with the reasons
 * the better ones gave for not reaching it.
 */
async function probePeer(host: string, options: ResolvedOptions): Promise<RouteChoice> {
  const passed: string[] = [];
  for (const transport of byPriority()) {
    const route = await transport.probe(host, options);
    if (typeof route === 'string') {
      passed.push(route);
      continue;
    }
    return passed.length === 0 ? route : { ...route, reason: `${passed.join('; ')}; ${route.reason}` };
  }
  throw new FabricError('ENODEV', `no transport reaches ${host}: ${passed.join('; ')}`);
}

/** What `fabric-transport info` reports: every transport and why not, its details, and the choice for a peer. */
export async function infoReport(peer: string | undefined, options: ResolvedOptions): Promise<InfoReport> {
  const report: InfoReport = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    transports: availability(options),
  };
  if (peer !== undefined) report.peer = { host: peer, ...(await probePeer(peer, options)) };
  return report;
}

/** The report as text for a person. */
export function formatInfo(report: InfoReport): string {
  const lines = [`fabric-transport on ${report.platform}, Node ${report.node}`, '', 'transports:'];
  for (const info of report.transports) {
    lines.push(`  ${info.kind.padEnd(5)} ${info.available ? 'available' : `unavailable: ${info.reason}`}`);
  }
  for (const transport of TRANSPORTS as readonly Transport[]) {
    const section = transport.describe(
      report.transports.filter((info) => transport.kinds.includes(info.kind)),
    );
    if (section.length > 0) lines.push('', ...section);
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
