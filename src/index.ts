import type { Connection } from './connection.js';
import { FabricError } from './errors.js';
import type { Listener } from './listener.js';
import { type ConnectOptions, checkHost, checkPort, type ListenOptions, resolveOptions } from './options.js';
import { chooseTransport } from './selection.js';
import { TcpConnection } from './transports/tcp/connection.js';
import { TcpListener } from './transports/tcp/listener.js';

export type { Connection } from './connection.js';
export { FabricError, type FabricErrorCode } from './errors.js';
export type { Listener } from './listener.js';
export type {
  ConnectOptions,
  DeviceFilter,
  ListenOptions,
  PollMode,
  TransportChoice,
  TransportKind,
  TransportOptions,
} from './options.js';
export type { RdmaDevice, RdmaGid, RdmaPort } from './rdma-devices.js';
export { type Access, Region, RegionSlice, type RegisterOptions, register } from './region.js';
export { type TransportInfo, transports } from './selection.js';
export { type Stats, stats } from './stats.js';

function requireOptions<T>(options: T, what: string): T {
  if (options === null || typeof options !== 'object') {
    throw new FabricError('EINVAL', `${what}() takes an options object`);
  }
  return options;
}

/** Listens for connections. Default host 127.0.0.1, port 0 (any free port: read `listener.port`). */
export async function listen(options: ListenOptions = {}): Promise<Listener> {
  requireOptions(options, 'listen');
  const resolved = resolveOptions(options);
  const host = checkHost(options.host ?? '127.0.0.1', 'host');
  const port = checkPort(options.port ?? 0, 0, 'port');
  chooseTransport(resolved);
  return TcpListener.listen(host, port, resolved);
}

/** Connects to a listener; `conn.transport` tells which transport was chosen. */
export async function connect(options: ConnectOptions): Promise<Connection> {
  requireOptions(options, 'connect');
  const resolved = resolveOptions(options);
  const host = checkHost(options.host, 'host');
  const port = checkPort(options.port, 1, 'port');
  chooseTransport(resolved);
  return TcpConnection.connect(host, port, resolved);
}
