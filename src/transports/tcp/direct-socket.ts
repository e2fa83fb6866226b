import type * as net from 'node:net';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { tcpNative } from './native.js';

const EAGAIN = -constants.errno.EAGAIN;
/** What read() returns at the end of the stream, and where it cannot read (another platform, an error). */
export const READ_END = -1;

/**
 * The data path straight on a node:net socket's descriptor, through the addon (native/tcp/socket_io.cc): gathered
 * writes without the streams layer's per-write work, and reads that can busy-poll. node:net keeps owning the
 * socket (connect, accept, errors, shutdown, and every write while it holds unsent bytes, so the byte order
 * holds). Where the addon or the descriptor is not there (another platform), node:net does everything.
 */
export class DirectSocket {
  private readonly addon = tcpNative();
  private watcher: { close(): void } | undefined;
  /** The descriptor, once connected (reading it from the handle costs a native call). */
  private fd = -1;

  constructor(private readonly socket: net.Socket) {}

  /**
   * Writes what the kernel takes of `parts` now: the bytes written (those left are node:net's to write), or
   * -1 when this write must go through node:net (it still holds earlier bytes, the socket is not connected,
   * the frame has more parts than one write takes, or it failed: node:net then meets the error itself).
   */
  write(parts: readonly Uint8Array[]): number {
    const socket = this.socket;
    if (socket.connecting || socket.writableLength > 0 || socket.writableCorked > 0) return -1;
    const fd = this.descriptor();
    if (this.addon === undefined || fd < 0 || parts.length > this.addon.maxWriteParts) return -1;
    // Parts as arguments: reading them out of an array costs the addon more than the syscall.
    const written = this.addon.socketWrite(fd, ...parts);
    return written < 0 ? -1 : written;
  }

  /**
   * Fails the socket with ETIMEDOUT once the peer has acknowledged nothing for `millis`, idle or not. Without
   * the addon, only idle connections are probed (node:net's keepalive).
   */
  keepalive(millis: number): void {
    const fd = this.descriptor();
    if (this.addon !== undefined && fd >= 0 && this.addon.socketKeepalive(fd, millis) === 0) return;
    this.socket.setKeepAlive(true, millis / 2);
  }

  /**
   * Takes the reading over from node:net, which has prefetched the memory of its next read (so the two cannot
   * share it): node:net stops reading, and `onReadable` is called whenever bytes wait. False where it cannot.
   */
  takeOverReads(onReadable: () => void): boolean {
    const fd = this.descriptor();
    if (this.addon === undefined || fd < 0) return false;
    try {
      this.watcher = new this.addon.DescriptorWatcher(fd, onReadable);
    } catch {
      // No descriptor left to duplicate (EMFILE): node:net keeps reading, as in 'event' mode.
      return false;
    }
    this.socket.pause();
    return true;
  }

  /** Hands reading back to node:net (it then meets the end of the stream or the error itself). */
  giveBackReads(): void {
    this.stopWatching();
    if (!this.socket.destroyed) this.socket.resume();
  }

  /** Closes the duplicate descriptor the watcher holds, so that closing the socket really closes it. */
  stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /**
   * Reads into `target`, busy-polling for up to `micros` µs: the bytes read, 0 when none arrived, READ_END at
   * the end of the stream or on an error (the socket is then destroyed with it, as node:net would).
   */
  read(target: Uint8Array, micros: number): number {
    const fd = this.descriptor();
    if (this.addon === undefined || fd < 0) return READ_END;
    const count = this.addon.socketRead(fd, target, micros);
    if (count > 0) return count;
    if (count === EAGAIN) return 0;
    if (count < 0) {
      const code = getSystemErrorName(count);
      this.stopWatching();
      this.socket.destroy(Object.assign(new Error(`read failed: ${code}`), { code, errno: count }));
    }
    return READ_END;
  }

  private descriptor(): number {
    if (this.socket.destroyed) return -1;
    if (this.fd < 0) {
      // node:net does not expose the descriptor; its handle does, on every Unix.
      const fd = (this.socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
      if (typeof fd === 'number' && fd >= 0) this.fd = fd;
    }
    return this.fd;
  }
}
