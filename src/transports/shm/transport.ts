import { FabricError } from '../../api/errors.js';
import type { TransportInfo } from '../../api/transport-info.js';
import type { ResolvedOptions } from '../../core/options.js';
import { numericAddress } from '../../util/address.js';
import type { Transport } from '../transport.js';
import { ShmAcceptor } from './listener.js';
import { type ShmNative, shmNative } from './native.js';
import { type ResolvedShmOptions, type ShmOptions, shmOptions } from './options.js';
import { connectShm } from './rendezvous.js';
import { isThisHost } from './socket-name.js';

const SAME_HOST_ONLY = 'shared memory reaches only processes on this host';

function unavailable(): string | undefined {
  if (process.platform !== 'linux')
    return `shared memory needs Linux (memfd, eventfd, SCM_RIGHTS), not ${process.platform}`;
  return shmNative() === undefined ? 'the native addon is not loaded (see fabric-transport info)' : undefined;
}

function required(): ShmNative {
  const native = shmNative();
  if (native === undefined)
    throw new FabricError('ENODEV', `transport 'shm' cannot be used here: ${unavailable()}`);
  return native;
}

function availability(options: ResolvedOptions): TransportInfo[] {
  const reason = unavailable();
  if (reason !== undefined) return [{ kind: 'shm', available: false, reason }];
  return [{ kind: 'shm', available: true, path: options.shmCopy === 'auto' ? 'cma' : 'ring' }];
}

function describe(infos: readonly TransportInfo[]): string[] {
  if (!infos.some((info) => info.available)) return [];
  const { shmDir } = shmOptions.resolve({});
  const where = shmDir === undefined ? 'the abstract namespace' : shmDir;
  return [
    `shm: listeners offer shared memory through a Unix socket beside their port, in ${where} (FABRIC_SHM_DIR)`,
    'shm: one ring per direction for messages; one-sided operations of 4 KiB and more are copied once, by the ' +
      'kernel (process_vm_readv/writev), where it lets the processes reach each other, else through the ring ' +
      '(FABRIC_SHM_COPY=ring: always)',
  ];
}

/** Same-host shared memory: rings in a memfd, eventfd doorbells, a Unix socket for the rendezvous. */
export const shmTransport: Transport<'shm', ShmOptions, ResolvedShmOptions> = {
  kinds: ['shm'],
  priority: 30,
  options: shmOptions,
  availability,
  unreachable: async (peer) => {
    const address = await peer.address();
    return isThisHost(address)
      ? undefined
      : `${peer.host} (${address}) is not an address of this host: ${SAME_HOST_ONLY}`;
  },
  listen: async (listener, local, port, options, kind) =>
    ShmAcceptor.listen(
      listener,
      local.host,
      await local.address(),
      port,
      options,
      required(),
      kind === undefined,
    ),
  connect: (peer, options) => connectShm(peer, options, required()),
  // Only where no listener offers shared memory there: any later failure is the connection's own.
  mayFallBack: (error) => error instanceof FabricError && error.code === 'ECONNREFUSED',
  describe,
  localTarget: (_info, host) => ({ transport: 'shm', host: host ?? '127.0.0.1', peers: 'shm' }),
  probe: async (host, options) => {
    const address = await numericAddress(host, 0).catch(() => host);
    if (!isThisHost(address)) return `${host} is not an address of this host: ${SAME_HOST_ONLY}`;
    const where = options.shmDir === undefined ? 'the abstract namespace' : options.shmDir;
    return {
      transport: 'shm',
      reason:
        `${host} is this host: shared memory, where its listener offers it (the Unix socket ` +
        `fabric-transport-${address}-<port>, or on a wildcard address, in ${where})`,
    };
  },
};
