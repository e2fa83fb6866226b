import { type NativeAddon, nativePart } from '../../core/native-addon.js';

/** The addon's socket fast path (native/tcp/), and the common part's DescriptorWatcher it watches sockets with. */
export interface TcpNative extends Pick<NativeAddon, 'DescriptorWatcher'> {
  /** The most parts one socketWrite() takes. */
  maxWriteParts: number;
  /** Gathered write of at most maxWriteParts parts to a socket: bytes the kernel took (maybe fewer), or -errno. */
  socketWrite(fd: number, ...parts: Uint8Array[]): number;
  /** Reads into `target`, busy-polling up to `spinMicros`: bytes, 0 at end of stream, -errno (-EAGAIN: none yet). */
  socketRead(fd: number, target: Uint8Array, spinMicros: number): number;
  /** Fails the socket with ETIMEDOUT once the peer acknowledged nothing for `millis`: 0 or -errno. */
  socketKeepalive(fd: number, millis: number): number;
}

/** The socket fast path, or undefined where the addon is not there (node:net then does everything). */
export function tcpNative(): TcpNative | undefined {
  const addon = nativePart<TcpNative>();
  return typeof addon === 'string' ? undefined : addon;
}
