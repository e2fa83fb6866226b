import type { Connection } from '../api/connection.js';
import { FabricError } from '../api/errors.js';
import type { ConnectOptions } from '../api/options.js';
import { checkHost, checkPort, optionsArgument, resolveOptions } from './options.js';
import { peerAt } from './peer.js';
import { candidatesFor } from './selection.js';

/**
 * Connects to a listener; `conn.transport` tells which transport was chosen. With 'auto', the best transport
 * that reaches the peer and that the listener takes there: one that fails before its connection is
 * established hands over to the next (RDMA without an RDMA listener there, say, to TCP).
 */
export async function connect(options: ConnectOptions): Promise<Connection> {
  optionsArgument(options, 'connect');
  const resolved = resolveOptions(options);
  const host = checkHost(options.host, 'host');
  const port = checkPort(options.port, 1, 'port');
  const peer = peerAt(host, port);
  const forced = resolved.transport !== 'auto';
  const reasons: string[] = [];
  const candidates = candidatesFor(resolved.transport, resolved);
  for (const [index, { transport, kind }] of candidates.entries()) {
    const why = await transport.unreachable(peer, kind);
    if (why !== undefined) {
      reasons.push(why);
      continue;
    }
    try {
      return await transport.connect(peer, resolved, kind);
    } catch (error) {
      if (forced || index === candidates.length - 1 || !transport.mayFallBack(error)) throw error;
    }
  }
  const what = forced ? `transport '${resolved.transport}'` : 'no transport';
  throw new FabricError('ENODEV', `${what} cannot reach ${host}: ${reasons.join('; ')}`);
}
