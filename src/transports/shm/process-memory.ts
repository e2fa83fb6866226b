import { constants } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import type { CopyOutcome, PeerMemory } from '../../core/stream/peer-memory.js';
import type { ShmNative } from './native.js';
import { HEADER_PAGE, MAPPING_ADDRESS, REACHED } from './ring-layout.js';

const { EPERM, ESRCH } = constants.errno;

/** From these sizes on, one-sided operations and messages go by reference: below, the ring costs less. */
export const BY_REFERENCE_FROM = { write: 4 << 10, read: 4 << 10, message: 64 << 10 } as const;

type Side = 'server' | 'client';

/**
 * The peer process's memory, reached with process_vm_readv / process_vm_writev (CMA) where the kernel allows
 * it: only where the peer could ptrace us anyway (same uid, no Yama restriction, a pid it sees), so it adds
 * no trust. Each side checks once, after the handshake, that it reaches the other (it reads the first bytes of
 * the shared memory through the peer's address of it) and says so in the memory; a side sends its operations by
 * reference only once the peer said it reaches us. Either side turns it off with shmCopy: 'ring'.
 */
export class ProcessMemory implements PeerMemory {
  private readonly words: Int32Array;
  private readonly header: DataView;
  private readonly peer: Side;

  constructor(
    private readonly native: ShmNative,
    memory: ArrayBuffer,
    private readonly side: Side,
    /** The peer's pid as our pid namespace sees it (0: it does not). */
    private readonly pid: number,
    private readonly enabled: boolean,
    /** Whether the peer's end of the rendezvous socket is closed: its memory may be going. */
    private readonly peerHungUp: () => boolean,
  ) {
    this.words = new Int32Array(memory, 0, HEADER_PAGE / 4);
    this.header = new DataView(memory, 0, HEADER_PAGE);
    this.peer = side === 'server' ? 'client' : 'server';
  }

  /** Writes where this side's mapping of the memory is, for the peer's check. */
  announce(): void {
    const bytes = new Uint8Array(this.header.buffer, 0, 8);
    this.header.setBigUint64(MAPPING_ADDRESS[this.side], this.native.memoryAddress(bytes), true);
  }

  /** Checks that this side reaches the peer's memory (the handshake is done: both announced); says so. */
  check(): void {
    if (!this.enabled || this.pid <= 0) return;
    const theirs = this.header.getBigUint64(MAPPING_ADDRESS[this.peer], true);
    const probe = new Uint8Array(8);
    if (this.native.processRead(this.pid, probe, theirs) !== probe.length) return;
    const ours = new Uint8Array(this.header.buffer, 0, 8);
    if (probe.every((byte, i) => byte === ours[i])) Atomics.store(this.words, REACHED[this.side], 1);
  }

  /** Whether this side reaches the peer, as far as it checked. */
  get reached(): boolean {
    return Atomics.load(this.words, REACHED[this.side]) === 1;
  }

  byReference(length: number, what: 'message' | 'write' | 'read'): boolean {
    // The peer writes a read's bytes into our memory: a worker's memory is freed when it is terminated, even
    // with the read in flight, so only the main thread's reads go by reference.
    if (what === 'read' && !isMainThread) return false;
    return (
      this.enabled && length >= BY_REFERENCE_FROM[what] && Atomics.load(this.words, REACHED[this.peer]) === 1
    );
  }

  address(bytes: Uint8Array): bigint {
    return this.native.memoryAddress(bytes);
  }

  copyFrom(address: bigint, target: Uint8Array): CopyOutcome {
    const result = this.reached ? this.native.processRead(this.pid, target, address) : -EPERM;
    // A worker that is terminated closes its descriptors before its memory goes: while the socket is still
    // open after the copy, the bytes copied were the peer's. A process that exits loses its memory first
    // (ESRCH), its descriptors after.
    if (result === -ESRCH || this.peerHungUp()) return 'gone';
    return result === target.length ? 'done' : 'refused';
  }

  copyTo(address: bigint, source: Uint8Array): CopyOutcome {
    const result = this.reached ? this.native.processWrite(this.pid, source, address) : -EPERM;
    if (result === source.length) return 'done';
    return result === -ESRCH || this.peerHungUp() ? 'gone' : 'refused';
  }
}
