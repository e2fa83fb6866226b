import { FabricError } from '../../api/errors.js';

/**
 * The shared memory of one connection (docs/PROTOCOL.md, "Shared memory"): a 4096-byte header page, then the
 * data of two rings of `capacity` bytes each. Ring 0 carries the server's frames to the client, ring 1 the
 * client's to the server. Every number is little-endian; the header page holds:
 *
 *   0  magic 'FTSM' (0x4d535446)     4  layout version (1)     8  capacity of each ring (a power of two)
 *   16 the listener's address of this memory (u64)   24 the client's (u64), for each to check it reaches the other
 *   32 1 once the listener has reached the client's memory   36 1 once the client has reached the listener's
 *   256 + 256 * ring: that ring's control block, each word on its own 64-byte line:
 *     +0 tail: bytes the producer has written, modulo 2^32       +64 head: bytes the consumer has taken
 *     +128 consumer asleep: 1 while it waits for its doorbell   +192 producer waiting: 1 while it waits for room
 */
export const LAYOUT_MAGIC = 0x4d535446;
export const LAYOUT_VERSION = 1;
export const HEADER_PAGE = 4096;
export const MIN_CAPACITY = 64 << 10;
export const MAX_CAPACITY = 256 << 20;

/** Byte offsets, within the header page, of where each side's mapping is in its process, and what it reached. */
export const MAPPING_ADDRESS = { server: 16, client: 24 } as const;
/** Int32 indexes of the words saying the side reached the other's memory (process_vm_readv worked). */
export const REACHED = { server: 8, client: 9 } as const;

/** Int32 indexes, within the header page, of ring `ring`'s control words. */
export function controlWords(ring: 0 | 1) {
  const base = (256 + 256 * ring) / 4;
  return { tail: base, head: base + 16, consumerAsleep: base + 32, producerWaiting: base + 48 };
}

export function layoutBytes(capacity: number): number {
  return HEADER_PAGE + 2 * capacity;
}

/** Writes the header of a new mapping (all else is zero: empty rings, nobody asleep). */
export function writeLayout(memory: ArrayBuffer, capacity: number): void {
  const header = new DataView(memory, 0, HEADER_PAGE);
  header.setUint32(0, LAYOUT_MAGIC, true);
  header.setUint32(4, LAYOUT_VERSION, true);
  header.setUint32(8, capacity, true);
}

/** The ring capacity of a mapping the peer made, checked against its size: EPROTO when anything is off. */
export function readLayout(memory: ArrayBuffer): number {
  const refuse = (what: string) =>
    new FabricError('EPROTO', `protocol violation by the peer: its shared memory has ${what}`);
  if (memory.byteLength < HEADER_PAGE) throw refuse(`${memory.byteLength} bytes, fewer than its header`);
  const header = new DataView(memory, 0, HEADER_PAGE);
  if (header.getUint32(0, true) !== LAYOUT_MAGIC) throw refuse('a bad magic number');
  if (header.getUint32(4, true) !== LAYOUT_VERSION)
    throw refuse(`layout version ${header.getUint32(4, true)}`);
  const capacity = header.getUint32(8, true);
  if (capacity < MIN_CAPACITY || capacity > MAX_CAPACITY || (capacity & (capacity - 1)) !== 0)
    throw refuse(`a ring capacity of ${capacity} bytes`);
  if (memory.byteLength !== layoutBytes(capacity))
    throw refuse(`${memory.byteLength} bytes, not ${layoutBytes(capacity)} for rings of ${capacity}`);
  const page = new Uint8Array(memory, 0, HEADER_PAGE);
  const isControlWord = (at: number) => at >= 256 && at < 768 && at % 64 < 4;
  const isAddressWord = (at: number) => at >= 16 && at < 40;
  for (let at = 12; at < HEADER_PAGE; at++) {
    if (page[at] !== 0 && !isControlWord(at) && !isAddressWord(at))
      throw refuse(`a non-zero reserved byte at ${at}`);
  }
  return capacity;
}

/** The data of ring `ring`. */
export function ringData(memory: ArrayBuffer, capacity: number, ring: 0 | 1): Uint8Array {
  return new Uint8Array(memory, HEADER_PAGE + ring * capacity, capacity);
}
