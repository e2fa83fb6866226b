import { FabricError } from './errors.js';
import type { TransportChoice, TransportKind } from './options.js';
import { type RdmaDevice, rdmaDevices } from './rdma-devices.js';

export interface TransportInfo {
  kind: TransportKind;
  available: boolean;
  /** Why the transport cannot be used here; absent when available. */
  reason?: string;
  /** RDMA devices whose link layer matches this transport. */
  devices?: RdmaDevice[];
}

const LINK_LAYER: Record<'roce' | 'ib', string> = { roce: 'Ethernet', ib: 'InfiniBand' };

function rdmaInfo(kind: 'roce' | 'ib', all: RdmaDevice[]): TransportInfo {
  const linkLayer = LINK_LAYER[kind];
  const devices = all.filter((device) => device.ports.some((port) => port.linkLayer === linkLayer));
  const seen = devices.map(
    (device) =>
      `${device.name} (${device.ports.map((port) => `port ${port.port} ${port.state}`).join(', ')})`,
  );
  const reason =
    devices.length === 0
      ? `no RDMA device with an ${linkLayer} link layer (${all.length === 0 ? '/sys/class/infiniband lists none' : `found only ${all.map((d) => d.name).join(', ')}`})`
      : `found ${seen.join(', ')}, but this version of fabric-transport has no verbs transport yet: use tcp`;
  return { kind, available: false, reason, devices };
}

/** Every transport with whether it can be used on this host, and why not. */
export function transports(): TransportInfo[] {
  const devices = rdmaDevices();
  return [{ kind: 'tcp', available: true }, rdmaInfo('roce', devices), rdmaInfo('ib', devices)];
}

/** The transport to use for a connection: a forced one must be usable; 'auto' takes the best usable one. */
export function chooseTransport(choice: TransportChoice): TransportKind {
  const infos = transports();
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
