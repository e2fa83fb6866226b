import { isLoopback } from '../../util/address.js';
import type { Transport } from '../transport.js';
import { VerbsConnection } from './connection.js';
import { describeDevices } from './info-section.js';
import { VerbsAcceptor } from './listener.js';
import { localTarget } from './local-target.js';
import { type ResolvedVerbsOptions, type VerbsOptions, verbsOptions } from './options.js';
import { probeRoute } from './route-probe.js';
import { type VerbsKind, verbsAvailability } from './routes.js';
import { failedBeforeEstablished } from './setup.js';

/**
 * RoCE and InfiniBand through verbs and RDMA-CM: one transport whose kind is the link layer of the device
 * that RDMA-CM routes a peer through.
 */
export const verbsTransport: Transport<VerbsKind, VerbsOptions, ResolvedVerbsOptions> = {
  kinds: ['roce', 'ib'],
  priority: 20,
  options: verbsOptions,
  availability: verbsAvailability,
  unreachable: async (peer, kind) =>
    kind === undefined && isLoopback(await peer.address())
      ? `${peer.host} is loopback, which RDMA-CM does not route`
      : undefined,
  listen: async (listener, local, port, options, kind) =>
    VerbsAcceptor.listen(listener, await local.address(), port, options, kind),
  connect: async (peer, options, kind) =>
    VerbsConnection.connect(await peer.address(), peer.port, options, kind),
  mayFallBack: failedBeforeEstablished,
  describe: describeDevices,
  localTarget,
  probe: probeRoute,
};
