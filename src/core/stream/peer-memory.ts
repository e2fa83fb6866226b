import { FabricError } from '../../api/errors.js';
import { MEMORY_ADDRESS_SIZE, MEMORY_REFERENCE_SIZE } from '../../protocol/frame.js';

/**
 * Copies straight between this process's memory and the peer's, for a stream transport between two processes
 * of one host (shm: process_vm_readv / process_vm_writev, where the kernel lets one process reach the other).
 * One-sided operations then move with one copy, made by the region's owner after its usual checks: the
 * initiator sends where its bytes are (WriteFrom, ReadInto), not the bytes.
 */
export interface PeerMemory {
  /**
   * Whether a message, a write or a read of `length` bytes goes by reference: the peer can reach us (and, for a
   * read, which the peer copies into our memory, this thread's memory outlives the operation).
   */
  byReference(length: number, what: 'message' | 'write' | 'read'): boolean;
  /** The address of `bytes` in this process, for the peer to copy from or into. */
  address(bytes: Uint8Array): bigint;
  /**
   * Copies the peer's bytes at `address` into `target`. 'gone' when the peer's end closed by the time the copy
   * was done: then what was copied cannot be trusted (its memory may have been freed mid-copy).
   */
  copyFrom(address: bigint, target: Uint8Array): CopyOutcome;
  /** Copies `source` into the peer's memory at `address`. */
  copyTo(address: bigint, source: Uint8Array): CopyOutcome;
}

/** How a copy with the peer's memory went: done, refused by the kernel, or the peer went away. */
export type CopyOutcome = 'done' | 'refused' | 'gone';

/** Why a copy with `peerName`'s memory failed, for the connection (the peer gone) or the operation. */
export function copyFailure(
  outcome: Exclude<CopyOutcome, 'done'>,
  peerName: string,
  what: string,
): FabricError {
  return outcome === 'gone'
    ? new FabricError('ECONNRESET', `${peerName} went away while ${what} was copied`)
    : new FabricError(
        'EACCES',
        `the kernel refused to copy ${what} straight between ${peerName} and this process`,
      );
}

export function encodeReference(address: bigint, length: number): Uint8Array {
  const bytes = new Uint8Array(MEMORY_REFERENCE_SIZE);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, address, true);
  view.setBigUint64(8, BigInt(length), true);
  return bytes;
}

export function encodeAddress(address: bigint): Uint8Array {
  const bytes = new Uint8Array(MEMORY_ADDRESS_SIZE);
  new DataView(bytes.buffer).setBigUint64(0, address, true);
  return bytes;
}

/** WriteFrom's payload: EPROTO for a length at or above 2^53 (no region is that large). */
export function decodeReference(payload: Uint8Array): { address: bigint; length: number } {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const length = view.getBigUint64(8, true);
  if (length >= 2n ** 53n) {
    throw new FabricError('EPROTO', `protocol violation by the peer: a WriteFrom of ${length} bytes`);
  }
  return { address: view.getBigUint64(0, true), length: Number(length) };
}

export function decodeAddress(payload: Uint8Array): bigint {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getBigUint64(0, true);
}
