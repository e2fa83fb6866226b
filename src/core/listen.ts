import { FabricError } from '../api/errors.js';
import type { Listener } from '../api/listener.js';
import type { ListenOptions } from '../api/options.js';
import { isLoopback } from '../util/address.js';
import { FabricListener } from './fabric-listener.js';
import { checkHost, checkPort, optionsArgument, resolveOptions } from './options.js';
import { peerAt } from './peer.js';
import { type Candidate, candidatesFor } from './selection.js';

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

/** Attempts at finding a port free for every transport when an 'auto' listener asks for any port. */
const PORT_ATTEMPTS = 5;

/**
 * Listens for connections. Default host 127.0.0.1, port 0 (any free port: read `listener.port`). With transport
 * 'auto' the listener takes, on the same port, every usable transport that can serve the address.
 */
export async function listen(options: ListenOptions = {}): Promise<Listener> {
  optionsArgument(options, 'listen');
  const resolved = resolveOptions(options);
  const host = checkHost(options.host ?? '127.0.0.1', 'host');
  const port = checkPort(options.port ?? 0, 0, 'port');
  const auto = resolved.transport === 'auto';
  const local = peerAt(host, port);
  const serving: Candidate[] = [];
  for (const candidate of candidatesFor(resolved.transport, resolved)) {
    const why = await candidate.transport.unreachable(local, candidate.kind);
    if (why === undefined) serving.push(candidate);
    else if (!auto)
      throw new FabricError('ENODEV', `transport '${resolved.transport}' cannot listen on ${host}: ${why}`);
  }
  warnIfOpenToTheNetwork(host, (await local.lookedUp()) ?? host, resolved.token);
  // The fallback binds first: the port it takes is the one the others must share.
  const order = serving.reverse();
  for (let attempt = 1; ; attempt++) {
    const listener = new FabricListener(host, port, resolved.maxConnections);
    try {
      for (const { transport, kind } of order) {
        try {
          const bound = await transport.listen(listener, local, listener.port, resolved, kind);
          listener.addAcceptor(bound.acceptor);
          listener.port = bound.port;
        } catch (error) {
          // 'auto' on an address a transport does not serve (no RDMA device has it) goes on without it.
          if (!(auto && (error as FabricError).code === 'ENODEV' && transport !== order[0]?.transport))
            throw error;
        }
      }
      return listener;
    } catch (error) {
      await listener.close();
      // A port one transport already uses is not silently given to the others alone (clients would reach
      // whoever holds it): any port is tried again, a given one fails.
      if (!(auto && (error as FabricError).code === 'EADDRINUSE' && port === 0 && attempt < PORT_ATTEMPTS))
        throw error;
    }
  }
}
