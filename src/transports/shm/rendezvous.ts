import * as net from 'node:net';
import { constants } from 'node:os';
import { FabricError, fromSocketError } from '../../api/errors.js';
import type { ResolvedOptions } from '../../core/options.js';
import type { Peer } from '../transport.js';
import { ShmConnection } from './connection.js';
import type { ShmNative } from './native.js';
import { ProcessMemory } from './process-memory.js';
import { HEADER_PAGE, layoutBytes, MAX_CAPACITY, readLayout } from './ring-layout.js';
import { displayName, listenerAddresses, socketName } from './socket-name.js';

const EAGAIN = -constants.errno.EAGAIN;

/** The descriptors the listener hands over: the memfd of both rings, the client's doorbell, the server's. */
type Handed = [memfd: number, clientBell: number, serverBell: number];

/** Connects to the Unix socket named `name`, or rejects with node:net's error. */
async function reachName(name: string): Promise<net.Socket> {
  const socket = net.connect({ path: name });
  // Before it connects: node:net then never reads, and the first byte, with its descriptors, stays ours.
  socket.pause();
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/**
 * Connects to the Unix socket of the listener that takes `peer`'s connections (on its address, or on a
 * wildcard); ECONNREFUSED where none offers it ('auto' then falls back).
 */
async function reach(peer: Peer, options: ResolvedOptions): Promise<net.Socket> {
  const names = listenerAddresses(await peer.address()).map((address) =>
    socketName(address, peer.port, options),
  );
  for (const name of names) {
    try {
      return await reachName(name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED')
        throw fromSocketError(error as Error, displayName(name));
    }
  }
  throw new FabricError(
    'ECONNREFUSED',
    `no listener on this host offers shared memory for ${peer.host}:${peer.port} (no socket ` +
      `${names.map(displayName).join(', ')} in this network namespace): is the server on another host or in ` +
      'another network namespace, or does it listen with another transport or FABRIC_SHM_DIR?',
  );
}

/** Waits for the listener's descriptors on `socket` (its first byte), for at most `millis`. */
function receive(socket: net.Socket, native: ShmNative, millis: number, peerName: string): Promise<Handed> {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  return new Promise<Handed>((resolve, reject) => {
    let watcher: { close(): void } | undefined;
    let settled = false;
    const finish = (error: FabricError | undefined, fds?: number[]) => {
      settled = true;
      clearTimeout(timer);
      watcher?.close();
      watcher = undefined;
      if (error) reject(error);
      else resolve(fds as Handed);
    };
    const attempt = () => {
      if (settled) return;
      const got = native.receiveDescriptors(fd, 3);
      if (got === EAGAIN) return;
      if (typeof got === 'number' || got.bytes === 0) {
        finish(
          new FabricError(
            'ECONNRESET',
            `${peerName} closed the connection before handing over its shared memory`,
          ),
        );
      } else if (got.fds.length !== 3) {
        for (const descriptor of got.fds) native.closeDescriptor(descriptor);
        finish(
          new FabricError('EPROTO', `protocol violation by the peer: ${got.fds.length} descriptors, not 3`),
        );
      } else {
        finish(undefined, got.fds);
      }
    };
    const timer = setTimeout(
      () =>
        finish(
          new FabricError('ETIMEDOUT', `${peerName} did not hand over its shared memory within ${millis} ms`),
        ),
      millis,
    );
    if (fd < 0) {
      finish(new FabricError('ECONNRESET', `the socket to ${peerName} closed`));
      return;
    }
    watcher = new native.DescriptorWatcher(fd, attempt);
    attempt();
  });
}

/** Maps the memfd the listener made, checked as anything from the peer is: EPROTO when it is off. */
function mapRings(native: ShmNative, memfd: number): { memory: ArrayBuffer; capacity: number } {
  const size = native.shmSize(memfd);
  if (size < HEADER_PAGE || size > layoutBytes(MAX_CAPACITY)) {
    throw new FabricError('EPROTO', `protocol violation by the peer: its shared memory has ${size} bytes`);
  }
  const memory = native.shmMap(memfd, size);
  try {
    return { memory, capacity: readLayout(memory) };
  } catch (error) {
    native.shmUnmap(memory);
    throw error;
  }
}

/** A connection to `peer`'s listener through shared memory, once its handshake completed. */
export async function connectShm(
  peer: Peer,
  options: ResolvedOptions,
  native: ShmNative,
): Promise<ShmConnection> {
  const peerName = `${peer.host}:${peer.port}`;
  const socket = await reach(peer, options);
  let fds: Handed;
  try {
    fds = await receive(socket, native, options.handshakeTimeout, peerName);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  const [memfd, clientBell, serverBell] = fds;
  let rings: { memory: ArrayBuffer; capacity: number };
  try {
    rings = mapRings(native, memfd);
  } catch (error) {
    native.closeDescriptor(clientBell);
    native.closeDescriptor(serverBell);
    socket.destroy();
    throw error instanceof FabricError
      ? error
      : new FabricError('EPROTO', `cannot map the shared memory of ${peerName}: ${(error as Error).message}`);
  } finally {
    native.closeDescriptor(memfd);
  }
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  const credentials = fd >= 0 ? native.peerCredentials(fd) : -1;
  const pid = typeof credentials === 'number' ? 0 : credentials.pid;
  const hungUp = () => native.peerHungUp(fd) !== false;
  const peerMemory = new ProcessMemory(
    native,
    rings.memory,
    'client',
    pid,
    options.shmCopy === 'auto',
    hungUp,
  );
  peerMemory.announce();
  const connection = new ShmConnection(
    'client',
    options,
    peerName,
    socket,
    { ...rings, ownBell: clientBell, peerBell: serverBell },
    native,
    peerMemory,
  );
  await connection.ready;
  return connection;
}
