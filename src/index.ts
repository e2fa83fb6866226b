import type { Connection } from './api/connection.js';
import { FabricError } from './api/errors.js';
import type { Listener } from './api/listener.js';
import { FabricListener } from './core/fabric-listener.js';
import {
  type ConnectOptions,
  checkHost,
  checkPort,
  type ListenOptions,
  resolveOptions,
} from './core/options.js';
import { chooseTransport } from './core/selection.js';
import { TcpConnection } from './transports/tcp/connection.js';
import { TcpAcceptor } from './transports/tcp/listener.js';
import { VerbsConnection } from './transports/verbs/connection.js';
import { VerbsAcceptor } from './transports/verbs/listener.js';
import { isLoopback, numericAddress } from './util/address.js';

export type { Connection } from './api/connection.js';
export { FabricError, type FabricErrorCode } from './api/errors.js';
export type { Listener } from './api/listener.js';
export { type Access, Region, RegionSlice, type RegisterOptions, register } from './api/region.js';
export { type Stats, stats } from './api/stats.js';
export type {
  ConnectOptions,
  DeviceFilter,
  ListenOptions,
  PollMode,
  TransportChoice,
  TransportKind,
  TransportOptions,
} from './core/options.js';
export { type TransportInfo, transports } from './core/selection.js';
export type { RdmaDevice, RdmaGid, RdmaPort } from './transports/verbs/devices.js';

function requireOptions<T>(options: T, what: string): T {
  if (options === null || typeof options !== 'object') {
    throw new FabricError('EINVAL', `${what}() takes an options object`);
  }
  return options;
}

let warnedWithoutToken = false;

/** Anyone who reaches a listener without a token may use every region granted to its connections: say so once. */
function warnIfOpenToTheNetwork(host: string, address: string, token: string | undefined): void {
  if (token !== undefined || warnedWithoutToken || host === 'localhost' || isLoopback(address)) return;
  warnedWithoutToken = true;
  process.emitWarning(
    `fabric-transport listens on ${host} without a token: any host that reaches it may connect. ` +
      'Set FABRIC_TOKEN (the same on both sides) and see docs/SECURITY.md',
    { code: 'FABRIC_NO_TOKEN' },
  );
}

/** Attempts at finding a port free for both TCP and RDMA-CM when an 'auto' listener asks for any port. */
const PORT_ATTEMPTS = 5;

/**
 * Listens for connections. Default host 127.0.0.1, port 0 (any free port: read `listener.port`). With transport
 * 'auto' the listener takes TCP and, where an RDMA device has the address, RDMA on the same port.
 */
export async function listen(options: ListenOptions = {}): Promise<Listener> {
  requireOptions(options, 'listen');
  const resolved = resolveOptions(options);
  const host = checkHost(options.host ?? '127.0.0.1', 'host');
  const port = checkPort(options.port ?? 0, 0, 'port');
  const kind = chooseTransport(resolved);
  const auto = resolved.transport === 'auto';
  const address = kind === 'tcp' ? host : await numericAddress(host, port);
  warnIfOpenToTheNetwork(host, address, resolved.token);
  if (kind === 'tcp' || (auto && isLoopback(address))) {
    const listener = new FabricListener(host, port, resolved.maxConnections);
    const tcp = await TcpAcceptor.listen(listener, host, port, resolved);
    listener.addAcceptor(tcp.acceptor);
    listener.port = tcp.port;
    return listener;
  }
  for (let attempt = 1; ; attempt++) {
    const listener = new FabricListener(host, port, resolved.maxConnections);
    try {
      if (auto) {
        const tcp = await TcpAcceptor.listen(listener, host, port, resolved);
        listener.addAcceptor(tcp.acceptor);
        listener.port = tcp.port;
      }
      const verbs = VerbsAcceptor.listen(listener, address, listener.port, resolved, auto ? undefined : kind);
      listener.addAcceptor(verbs.acceptor);
      listener.port = verbs.port;
      return listener;
    } catch (error) {
      const code = (error as FabricError).code;
      // 'auto' on an address no RDMA device has serves TCP only. A port RDMA-CM already uses is not silently
      // given to TCP alone (clients would reach whoever holds it): any port is tried again, a given one fails.
      if (auto && code === 'ENODEV') return listener;
      await listener.close();
      if (!(auto && code === 'EADDRINUSE' && port === 0 && attempt < PORT_ATTEMPTS)) throw error;
    }
  }
}

/**
 * Connects to a listener; `conn.transport` tells which transport was chosen. With 'auto', RDMA when an RDMA
 * device routes the address and the listener takes RDMA there, else TCP.
 */
export async function connect(options: ConnectOptions): Promise<Connection> {
  requireOptions(options, 'connect');
  const resolved = resolveOptions(options);
  const host = checkHost(options.host, 'host');
  const port = checkPort(options.port, 1, 'port');
  const kind = chooseTransport(resolved);
  const address = kind === 'tcp' ? host : await numericAddress(host, port);
  if (kind === 'tcp' || (resolved.transport === 'auto' && isLoopback(address))) {
    return TcpConnection.connect(host, port, resolved);
  }
  const forced = resolved.transport === 'auto' ? undefined : kind;
  try {
    return await VerbsConnection.connect(address, port, resolved, forced);
  } catch (error) {
    // 'auto': no RDMA path to that listener (no route, no RDMA listener there, no answer in time): TCP.
    if (forced || !VerbsConnection.failedBeforeEstablished(error)) throw error;
    return TcpConnection.connect(host, port, resolved);
  }
}
