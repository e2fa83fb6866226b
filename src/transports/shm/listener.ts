import { unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { FabricError, fromSocketError } from '../../api/errors.js';
import type { Acceptor, FabricListener } from '../../core/fabric-listener.js';
import type { ResolvedOptions } from '../../core/options.js';
import { ShmConnection } from './connection.js';
import type { ShmNative } from './native.js';
import { ProcessMemory } from './process-memory.js';
import { layoutBytes, writeLayout } from './ring-layout.js';
import { displayName, socketName } from './socket-name.js';

function bind(server: net.Server, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(name, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Whether a socket file is left over by a listener that is gone: nobody accepts on it. */
function isStale(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(name);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** A port no TCP listener holds right now, to name the socket of a listener that offers only shared memory. */
async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(fromSocketError(error, `${host}:0`)));
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The Unix socket beside a listener's port. Each process that connects gets, as the first byte on the socket,
 * the descriptors of its connection: a sealed memfd holding both rings and the two doorbells; then the
 * handshake runs in the rings, and the socket only says when either side is gone.
 */
export class ShmAcceptor implements Acceptor {
  private constructor(private readonly server: net.Server) {}

  static async listen(
    listener: FabricListener,
    host: string,
    address: string,
    port: number,
    options: ResolvedOptions,
    native: ShmNative,
    offeredBeside: boolean,
  ): Promise<{ acceptor: ShmAcceptor; port: number }> {
    const bound = port === 0 ? await freePort(host) : port;
    const name = socketName(address, bound, options);
    // Paused: nothing is read from the socket, whose first byte carries descriptors the other way.
    const server = net.createServer({ pauseOnConnect: true });
    try {
      try {
        await bind(server, name);
      } catch (error) {
        if (
          (error as NodeJS.ErrnoException).code !== 'EADDRINUSE' ||
          name.startsWith('\0') ||
          !(await isStale(name))
        )
          throw error;
        unlinkSync(name);
        await bind(server, name);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = `cannot offer shared memory through ${displayName(name)}: ${code ?? (error as Error).message}`;
      // Beside another transport's port, a socket that is taken (by a listener on another address) is skipped.
      throw new FabricError(offeredBeside ? 'ENODEV' : code === 'EADDRINUSE' ? 'EADDRINUSE' : 'EINVAL', why, {
        cause: error,
      });
    }
    server.on('connection', (socket) => ShmAcceptor.onSocket(listener, socket, options, native));
    server.on('error', (error) =>
      process.emitWarning(`fabric-transport listener ${displayName(name)}: ${error.message}`),
    );
    return { acceptor: new ShmAcceptor(server), port: bound };
  }

  stop(): Promise<void> {
    // node:net calls close()'s callback only once every accepted socket closed too: those are the
    // connections', which stay open. The listening socket itself is closed (and its file removed) at once.
    this.server.close();
    return Promise.resolve();
  }

  private static onSocket(
    listener: FabricListener,
    socket: net.Socket,
    options: ResolvedOptions,
    native: ShmNative,
  ): void {
    if (listener.closed) {
      socket.destroy();
      return;
    }
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    const credentials = fd >= 0 ? native.peerCredentials(fd) : -1;
    const peerName = typeof credentials === 'number' ? 'a local process' : `process ${credentials.pid}`;
    const capacity = options.shmRingBytes;
    const made: number[] = [];
    let memory: ArrayBuffer | undefined;
    try {
      const memfd = native.shmCreate(layoutBytes(capacity));
      made.push(memfd);
      memory = native.shmMap(memfd, layoutBytes(capacity));
      writeLayout(memory, capacity);
      const pid = typeof credentials === 'number' ? 0 : credentials.pid;
      const hungUp = () => native.peerHungUp(fd) !== false;
      const peerMemory = new ProcessMemory(native, memory, 'server', pid, options.shmCopy === 'auto', hungUp);
      peerMemory.announce();
      const clientBell = native.eventfdCreate();
      made.push(clientBell);
      const serverBell = native.eventfdCreate();
      made.push(serverBell);
      const sent = native.sendDescriptors(fd, [memfd, clientBell, serverBell]);
      if (sent < 0) throw new Error(`cannot pass the descriptors (errno ${-sent})`);
      native.closeDescriptor(made.shift() as number);
      const rings = { memory, capacity, ownBell: serverBell, peerBell: clientBell };
      listener.admit(new ShmConnection('server', options, peerName, socket, rings, native, peerMemory));
    } catch (error) {
      for (const descriptor of made) native.closeDescriptor(descriptor);
      if (memory) native.shmUnmap(memory);
      socket.destroy();
      process.emitWarning(
        `fabric-transport: a shared-memory connection from ${peerName} failed: ${(error as Error).message}`,
      );
    }
  }
}
