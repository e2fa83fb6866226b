import { FabricError } from '../../api/errors.js';
import type { ResolvedOptions } from '../../core/options.js';
import { isLoopback, numericAddress } from '../../util/address.js';
import type { RouteChoice } from '../transport.js';
import type { EndpointEvent } from './native.js';
import { gidSourceAddress, routeKind, verbsAvailability } from './routes.js';
import { newEndpoint } from './setup.js';

const PROBE_TIMEOUT_MS = 3000;

/**
 * Asks RDMA-CM how it would reach `host` (address and route resolution only; no connection is attempted):
 * the kind and device a connection there would use, or why it would not use RDMA.
 */
export async function probeRoute(host: string, options: ResolvedOptions): Promise<RouteChoice | string> {
  const infos = verbsAvailability(options);
  if (!infos.some((info) => info.available)) {
    return `no RDMA transport here: ${infos.map((i) => `${i.kind}: ${i.reason}`).join('; ')}`;
  }
  const address = await numericAddress(host, 1);
  if (isLoopback(address)) return `${host} is loopback, which RDMA-CM does not route`;
  const endpoint = newEndpoint();
  try {
    const outcome = await new Promise<EndpointEvent | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), PROBE_TIMEOUT_MS);
      endpoint.setCallback((event) => {
        clearTimeout(timer);
        resolve(event);
      });
      endpoint.resolve(address, 1, PROBE_TIMEOUT_MS, gidSourceAddress(options));
    });
    if (outcome !== 'route-resolved') return `RDMA-CM finds no RDMA route to ${address} (${outcome})`;
    const device = endpoint.deviceName() ?? '';
    const port = endpoint.portNumber() ?? 0;
    const kind = routeKind(device, port, options);
    if (kind !== 'roce' && kind !== 'ib') return `RDMA-CM routes ${address}, but ${kind}`;
    return {
      transport: kind,
      device,
      port,
      reason: `RDMA-CM routes ${address} through ${device} port ${port}; a listener there must take RDMA on its port, or 'auto' uses TCP`,
    };
  } catch (error) {
    if (error instanceof FabricError) throw error;
    return `RDMA-CM cannot resolve ${address}: ${(error as Error).message}`;
  } finally {
    endpoint.destroy();
  }
}
