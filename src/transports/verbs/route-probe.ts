import { FabricError } from '../../api/errors.js';
import type { EndpointEvent } from '../../core/native-addon.js';
import type { ResolvedOptions, TransportKind } from '../../core/options.js';
import { chooseTransport, gidSourceAddress, routeKind, transportsFor } from '../../core/selection.js';
import { isLoopback, numericAddress } from '../../util/address.js';
import { VerbsConnection } from './connection.js';

/** Which transport 'auto' uses for a peer, and why. */
export interface RouteChoice {
  transport: TransportKind;
  reason: string;
  /** The RDMA device and port RDMA-CM routes the peer through, when it does. */
  device?: string;
  port?: number;
}

const PROBE_TIMEOUT_MS = 3000;

/**
 * Asks RDMA-CM how it would reach `host` (address and route resolution only; no connection is attempted),
 * and so which transport 'auto' would use for a connection there.
 */
export async function probeRoute(host: string, options: ResolvedOptions): Promise<RouteChoice> {
  const best = chooseTransport({ ...options, transport: 'auto' });
  if (best === 'tcp') {
    const reasons = transportsFor(options.devices).filter((info) => !info.available);
    return {
      transport: 'tcp',
      reason: `no RDMA transport here: ${reasons.map((i) => `${i.kind}: ${i.reason}`).join('; ')}`,
    };
  }
  const address = await numericAddress(host, 1);
  if (isLoopback(address)) {
    return { transport: 'tcp', reason: `${host} is loopback, which RDMA-CM does not route` };
  }
  const endpoint = VerbsConnection.newEndpoint();
  try {
    const outcome = await new Promise<EndpointEvent | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), PROBE_TIMEOUT_MS);
      endpoint.setCallback((event) => {
        clearTimeout(timer);
        resolve(event);
      });
      endpoint.resolve(address, 1, PROBE_TIMEOUT_MS, gidSourceAddress(options));
    });
    if (outcome !== 'route-resolved') {
      return { transport: 'tcp', reason: `RDMA-CM finds no RDMA route to ${address} (${outcome})` };
    }
    const device = endpoint.deviceName() ?? '';
    const port = endpoint.portNumber() ?? 0;
    const kind = routeKind(device, port, options);
    if (kind !== 'roce' && kind !== 'ib')
      return { transport: 'tcp', reason: `RDMA-CM routes ${address}, but ${kind}` };
    return {
      transport: kind,
      device,
      port,
      reason: `RDMA-CM routes ${address} through ${device} port ${port}; a listener there must take RDMA on its port, or 'auto' uses TCP`,
    };
  } catch (error) {
    if (error instanceof FabricError) throw error;
    return { transport: 'tcp', reason: `RDMA-CM cannot resolve ${address}: ${(error as Error).message}` };
  } finally {
    endpoint.destroy();
  }
}
