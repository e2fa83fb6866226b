import type { Transport } from '../transport.js';
import { TcpConnection } from './connection.js';
import { TcpAcceptor } from './listener.js';
import { type ResolvedTcpOptions, type TcpOptions, tcpOptions } from './options.js';

/** TCP over node:net: on every host, to every address; the fallback of 'auto'. */
export const tcpTransport: Transport<'tcp', TcpOptions, ResolvedTcpOptions> = {
  kinds: ['tcp'],
  priority: 0,
  options: tcpOptions,
  availability: () => [{ kind: 'tcp', available: true }],
  unreachable: async () => undefined,
  listen: (listener, local, port, options) => TcpAcceptor.listen(listener, local.host, port, options),
  connect: (peer, options) => TcpConnection.connect(peer.host, peer.port, options),
  mayFallBack: () => false,
  describe: () => [],
  localTarget: (_info, host) => ({ transport: 'tcp', host: host ?? '127.0.0.1', peers: 'sockets' }),
  probe: async () => ({ transport: 'tcp', reason: 'TCP reaches every address' }),
};
