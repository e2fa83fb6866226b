import { type NativeAddon, nativePart } from '../../core/native-addon.js';

/**
 * The addon's same-host shared-memory part (native/shm/, Linux only), and the common part's DescriptorWatcher
 * that watches its socket and doorbells. Calls that fail for a reason of the moment return -errno; those that
 * make something throw an Error that says what failed; a wrong argument throws a TypeError.
 */
export interface ShmNative extends Pick<NativeAddon, 'DescriptorWatcher'> {
  /** A new memfd of `bytes` (≥ 1), sealed against shrinking, growing and more seals: its descriptor. */
  shmCreate(bytes: number): number;
  /** The bytes the descriptor's file holds (what a peer's memfd claims, checked before mapping), or -errno. */
  shmSize(fd: number): number;
  /** A shared, writable mapping of a memfd that must be exactly `bytes` long and sealed against shrinking. */
  shmMap(fd: number, bytes: number): ArrayBuffer;
  /** Detaches an ArrayBuffer of shmMap() (its byteLength becomes 0) and unmaps it now; again, does nothing. */
  shmUnmap(buffer: ArrayBuffer): void;
  /** A new non-blocking eventfd (counter 0): its descriptor. */
  eventfdCreate(): number;
  /** Adds 1 to the eventfd's counter: 0 (also where it is full: not drained yet), or -errno. */
  eventfdSignal(fd: number): number;
  /** Takes the eventfd's counter, resetting it: the count (0 when there was none), or -errno. */
  eventfdDrain(fd: number): number;
  /** Sends one byte carrying `fds` (at most 8) over a Unix socket without blocking: 0 or -errno (-EAGAIN: full). */
  sendDescriptors(socketFd: number, fds: number[]): number;
  /** Receives one byte and its descriptors (beyond `max` closed): bytes 0 at the end; -errno (-EAGAIN: none yet). */
  receiveDescriptors(socketFd: number, max: number): { bytes: number; fds: number[] } | number;
  /** The process at the other end of a Unix socket, as it was when it connected, or -errno. */
  peerCredentials(socketFd: number): { pid: number; uid: number; gid: number } | number;
  /** Whether the other end of the socket is closed (a process closes its descriptors before its memory goes). */
  peerHungUp(socketFd: number): boolean | number;
  /** Closes a descriptor: 0 or -errno. */
  closeDescriptor(fd: number): number;
  /** Copies all of `local` from process `pid` at `remoteAddress`: its byteLength, or -errno (-EPERM, -ESRCH). */
  processRead(pid: number, local: ArrayBufferView, remoteAddress: bigint): number;
  /** Copies all of `local` into process `pid` at `remoteAddress`: its byteLength, or -errno (-EPERM, -EFAULT). */
  processWrite(pid: number, local: ArrayBufferView, remoteAddress: bigint): number;
  /** The address of the view's first byte in this process, for a peer's processRead() and processWrite(). */
  memoryAddress(view: ArrayBufferView): bigint;
}

/** The shared-memory part, or undefined where the addon is not there (the transport is then unavailable). */
export function shmNative(): ShmNative | undefined {
  const addon = nativePart<ShmNative>();
  return typeof addon === 'string' ? undefined : addon;
}
