import { FabricError } from '../api/errors.js';
import { DESCRIPTOR_SIZE } from './descriptor.js';

/** Every frame starts with this fixed header (docs/PROTOCOL.md has the byte layout). */
export const HEADER_SIZE = 32;

/**
 * With the read-ahead capability, a receiver reads up to this many bytes from a frame's start at once (a
 * small message and its header in one read), and a sender pads the header of every frame whose payload lands
 * in the receiver's own memory (Write, ReadResponse) to this size, so that no read ever takes a byte of it.
 */
export const READ_AHEAD_BYTES = 256;

export enum FrameType {
  Hello = 0x01,
  Auth = 0x02,
  Ready = 0x03,
  Message = 0x10,
  Credit = 0x11,
  /** RDMA only: a large message the receiver pulls with RDMA READ from the segments in the payload. */
  Rendezvous = 0x12,
  /** RDMA only: the receiver has pulled rendezvous message `id`; its memory may be reused. */
  RendezvousDone = 0x13,
  Write = 0x20,
  WriteAck = 0x21,
  ReadRequest = 0x22,
  ReadResponse = 0x23,
  /** RDMA only: asks the owner of region `key` for its address and rkey. */
  KeyRequest = 0x24,
  /** RDMA only: the answer: address in `key`, rkey in `aux`, the region's descriptor as payload. */
  KeyGrant = 0x25,
  /** RDMA only: region `key` was deregistered; forget its grant. */
  KeyRevoke = 0x26,
  /** RDMA only: the grant of `key` is forgotten, and the operations that used it were issued before this frame. */
  KeyRevokeAck = 0x27,
  /** Shared memory only: the owner copies the write's bytes from the initiator's memory (reference in payload). */
  WriteFrom = 0x28,
  /** Shared memory only: the owner copies the read's bytes into the initiator's memory (address in payload). */
  ReadInto = 0x29,
  /** Shared memory only: the owner has copied read `id` into the initiator's memory. */
  ReadDone = 0x2a,
  Error = 0x30,
}

export interface FrameHeader {
  type: FrameType;
  /** Payload bytes that follow the header. */
  length: number;
  /** Operation id (Write, WriteAck, ReadRequest, ReadResponse, KeyRequest, KeyGrant, Error), rendezvous id; 0 otherwise. */
  id: number;
  /**
   * Message credit returned in bytes (Message, Credit, Rendezvous), bytes requested (ReadRequest), rkey
   * (KeyGrant) or error code (Error).
   */
  aux: number;
  /**
   * Region key (Write, ReadRequest, KeyRequest, KeyRevoke, KeyRevokeAck), address (KeyGrant), or over RDMA the
   * frame credit returned (Message, Credit, Rendezvous).
   */
  key: bigint;
  /**
   * Byte offset into the region (Write, ReadRequest) or message length (Rendezvous). An offset at or above
   * 2^53 decodes as OFFSET_LIMIT: no region or message is that large, so the receiver's range checks refuse it.
   */
  offset: number;
}

/** WriteFrom's payload: the address of the bytes in the initiator's memory and their length, u64 each. */
export const MEMORY_REFERENCE_SIZE = 16;
/** ReadInto's payload: the address in the initiator's memory where the bytes go, u64. */
export const MEMORY_ADDRESS_SIZE = 8;

/** What a header offset at or above 2^53 decodes as (exact in a double, and beyond every region and message). */
export const OFFSET_LIMIT = 2 ** 53;

/** The header fields besides `type` and `length`; a frame type uses some of them, the others must be 0. */
export type HeaderField = 'id' | 'aux' | 'key' | 'offset';

/** Per frame type a transport carries, the header fields it uses there (docs/PROTOCOL.md, "Frame types"). */
export type FrameFields = Readonly<Partial<Record<FrameType, readonly HeaderField[]>>>;

/** The frames every transport carries: the handshake's and Error. */
export const SHARED_FRAME_FIELDS: FrameFields = {
  [FrameType.Hello]: [],
  [FrameType.Auth]: [],
  [FrameType.Ready]: [],
  [FrameType.Error]: ['id', 'aux'],
};

const FIELD_BITS: Readonly<Record<HeaderField, number>> = { id: 1, aux: 2, key: 4, offset: 8 };

/**
 * What one transport carries, as decodeHeader() checks it: a frame of a type the transport does not carry is
 * refused at its header, and so is one with a non-zero field its type does not use there.
 */
export class FrameRules {
  /** The types carried. */
  readonly types: ReadonlySet<FrameType>;
  /** Per type byte: the bits of the fields the type uses, or -1 where it is not carried. */
  private readonly masks = new Int8Array(256).fill(-1);

  /**
   * `name` as error messages say it ('TCP'); `fields` per type carried; `maxLengths`, payload limits of its own
   * beyond those every transport has (a frame that must fit one receive buffer, say).
   */
  constructor(
    readonly name: string,
    readonly fields: FrameFields,
    private readonly maxLengths: Readonly<Partial<Record<FrameType, number>>> = {},
  ) {
    const types = Object.keys(fields).map(Number) as FrameType[];
    for (const type of types) {
      this.masks[type] = (fields[type] ?? []).reduce((bits, field) => bits | FIELD_BITS[field], 0);
    }
    this.types = new Set(types);
  }

  /** Whether `length` passes the transport's own limit for `type`. */
  tooLong(type: FrameType, length: number): boolean {
    const limit = this.maxLengths[type];
    return limit !== undefined && length > limit;
  }

  /** The bits of the fields `type` uses, or -1 when it is not carried. */
  fieldsOf(type: number): number {
    return this.masks[type] as number;
  }
}

/** The name of a frame type, for error messages: `0x12 (Rendezvous)`. */
export function frameTypeName(type: number): string {
  const hex = `0x${type.toString(16).padStart(2, '0')}`;
  const name = FrameType[type];
  return name === undefined ? hex : `${hex} (${name})`;
}

export const HELLO_SIZE = 52;
export const PROOF_SIZE = 32;
export const MAX_ERROR_TEXT = 1024;

/** Payload lengths each frame type may carry; data frames are bounded by the receiver (limits, regions). */
function lengthAllowed(type: FrameType, length: number): boolean {
  switch (type) {
    case FrameType.Hello:
      return length === HELLO_SIZE;
    case FrameType.Auth:
    case FrameType.Ready:
      return length === 0 || length === PROOF_SIZE;
    case FrameType.Credit:
    case FrameType.WriteAck:
    case FrameType.ReadRequest:
    case FrameType.RendezvousDone:
    case FrameType.KeyRequest:
    case FrameType.KeyRevoke:
    case FrameType.KeyRevokeAck:
    case FrameType.ReadDone:
      return length === 0;
    case FrameType.WriteFrom:
      return length === MEMORY_REFERENCE_SIZE;
    case FrameType.ReadInto:
      return length === MEMORY_ADDRESS_SIZE;
    case FrameType.KeyGrant:
      return length === DESCRIPTOR_SIZE;
    case FrameType.Rendezvous:
      // 16-byte segments (src/transports/verbs/frames.ts); the transport bounds how many.
      return length > 0 && length % 16 === 0;
    case FrameType.Error:
      return length <= MAX_ERROR_TEXT;
    case FrameType.Message:
    case FrameType.Write:
    case FrameType.ReadResponse:
      return true;
  }
}

/** Frames whose payload lands in memory the receiver names (a region, a read's target): padded for read-ahead. */
export function carriesPlacedPayload(type: FrameType): boolean {
  return type === FrameType.Write || type === FrameType.ReadResponse;
}

function protocolError(detail: string): FabricError {
  return new FabricError('EPROTO', `protocol violation by the peer: ${detail}`);
}

const KNOWN_TYPES = new Set<number>(
  Object.values(FrameType).filter((value): value is FrameType => typeof value === 'number'),
);

/** The fields of a header to encode; those left out are zero. */
export type HeaderFields = Partial<FrameHeader> & { type: FrameType };

const U32_LIMIT = 0x1_0000_0000;
const U64_LIMIT = 1n << 64n;

// Headers are read and written byte by byte: on the path every message takes, that costs a tenth of Buffer's
// checked readUInt32LE/writeUInt32LE, and a DataView per header would cost more than the header itself.
function readU32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) |
      ((bytes[at + 1] as number) << 8) |
      ((bytes[at + 2] as number) << 16) |
      ((bytes[at + 3] as number) << 24)) >>>
    0
  );
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value;
  bytes[at + 1] = value >>> 8;
  bytes[at + 2] = value >>> 16;
  bytes[at + 3] = value >>> 24;
}

function u32Field(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!(value >= 0 && value < U32_LIMIT))
    throw new RangeError(`header ${name} ${value} is not a 32-bit value`);
  return value;
}

/** Encodes a header into the first HEADER_SIZE bytes of `bytes` (a header buffer reused frame after frame). */
export function encodeHeaderInto(bytes: Uint8Array, header: HeaderFields): void {
  bytes[0] = header.type;
  bytes[1] = 0;
  bytes[2] = 0;
  bytes[3] = 0;
  writeU32(bytes, 4, u32Field('length', header.length));
  writeU32(bytes, 8, u32Field('id', header.id));
  writeU32(bytes, 12, u32Field('aux', header.aux));
  const key = header.key ?? 0n;
  if (key === 0n) {
    writeU32(bytes, 16, 0);
    writeU32(bytes, 20, 0);
  } else {
    if (key < 0n || key >= U64_LIMIT) throw new RangeError(`header key ${key} is not a 64-bit value`);
    writeU32(bytes, 16, Number(key & 0xffff_ffffn));
    writeU32(bytes, 20, Number(key >> 32n));
  }
  const offset = header.offset ?? 0;
  if (!(offset >= 0 && offset <= Number.MAX_SAFE_INTEGER))
    throw new RangeError(`header offset ${offset} is out of range`);
  writeU32(bytes, 24, offset % U32_LIMIT);
  writeU32(bytes, 28, Math.floor(offset / U32_LIMIT));
}

export function encodeHeader(header: HeaderFields): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE);
  encodeHeaderInto(buf, header);
  return buf;
}

/**
 * Decodes and validates one header; any malformed field is an EPROTO FabricError. With a transport's `rules`,
 * also what that transport requires: the type is one it carries, and the fields the type does not use are 0.
 * Without, only what holds on every transport (tests and tools that read what a side sent).
 */
export function decodeHeader(bytes: Uint8Array, rules?: FrameRules): FrameHeader {
  if (bytes.length < HEADER_SIZE)
    throw protocolError(`truncated header (${bytes.length} of ${HEADER_SIZE} bytes)`);
  const type = bytes[0] as number;
  if (!KNOWN_TYPES.has(type)) throw protocolError(`unknown frame type ${frameTypeName(type)}`);
  const used = rules === undefined ? 0xf : rules.fieldsOf(type);
  if (used < 0) throw protocolError(`frame type ${frameTypeName(type)} is not carried over ${rules?.name}`);
  if (bytes[1] !== 0 || bytes[2] !== 0 || bytes[3] !== 0)
    throw protocolError('reserved header bytes are not zero');
  const length = readU32(bytes, 4);
  if (!lengthAllowed(type, length) || rules?.tooLong(type, length)) {
    throw protocolError(`frame type ${frameTypeName(type)} cannot carry ${length} payload bytes`);
  }
  const id = readU32(bytes, 8);
  const aux = readU32(bytes, 12);
  const keyLow = readU32(bytes, 16);
  const keyHigh = readU32(bytes, 20);
  const offsetLow = readU32(bytes, 24);
  const offsetHigh = readU32(bytes, 28);
  if (used !== 0xf) {
    const set =
      (id !== 0 ? FIELD_BITS.id : 0) |
      (aux !== 0 ? FIELD_BITS.aux : 0) |
      ((keyLow | keyHigh) !== 0 ? FIELD_BITS.key : 0) |
      ((offsetLow | offsetHigh) !== 0 ? FIELD_BITS.offset : 0);
    const unused = set & ~used;
    if (unused !== 0) {
      const field = (Object.keys(FIELD_BITS) as HeaderField[]).find(
        (name) => (unused & FIELD_BITS[name]) !== 0,
      );
      throw protocolError(
        `a ${frameTypeName(type)} frame has a non-zero \`${field}\` field, which it does not use`,
      );
    }
  }
  return {
    type,
    length,
    id,
    aux,
    key: keyLow === 0 && keyHigh === 0 ? 0n : (BigInt(keyHigh) << 32n) | BigInt(keyLow),
    offset: offsetHigh > 0x1f_ffff ? OFFSET_LIMIT : offsetHigh * U32_LIMIT + offsetLow,
  };
}
