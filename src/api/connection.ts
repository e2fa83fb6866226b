import { ACCESS_READ, ACCESS_WRITE, decodeDescriptor, type RemoteRegion } from '../protocol/descriptor.js';
import { FabricError } from './errors.js';
import type { TransportKind } from './options.js';
import { localSlice, type Region, type RegionSlice } from './region.js';

/** One connection to a peer, whatever the transport underneath. */
export interface Connection extends AsyncIterable<Uint8Array> {
  /** The transport actually in use. */
  readonly transport: TransportKind;
  /** True once the connection is closed, by either side or by an error. */
  readonly closed: boolean;
  /** Largest message the peer accepts (its maxMessageSize). */
  readonly peerMaxMessageSize: number;
  /**
   * Sends one message (any typed array's bytes); an array of parts is gathered without concatenation and
   * arrives as one message.
   * Resolves once the bytes are handed to the transport: the memory may then be reused.
   */
  send(message: ArrayBufferView | readonly ArrayBufferView[]): Promise<void>;
  /** The next message, in order. Rejects with ECLOSED once the connection is closed and drained. */
  receive(): Promise<Uint8Array>;
  /** RDMA WRITE semantics: copies `source` into the peer's region; resolves once it is in the peer's memory. */
  write(source: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset?: number): Promise<void>;
  /** RDMA READ semantics: fills `target` from the peer's region. */
  read(target: Region | RegionSlice, remoteDescriptor: Uint8Array, remoteOffset?: number): Promise<void>;
  /** Closes the connection; pending operations reject with ECLOSED. Idempotent, bounded in time. */
  close(): Promise<void>;
}

/** The largest single one-sided operation (its length travels as a u32). */
export const MAX_OPERATION_BYTES = 0xffff_ffff;

export interface OneSidedRequest {
  slice: RegionSlice;
  remote: RemoteRegion;
  remoteOffset: number;
}

/** The local checks every transport runs before a one-sided operation goes on the wire. */
export function prepareOneSided(
  kind: 'write' | 'read',
  local: unknown,
  remoteDescriptor: unknown,
  remoteOffset: unknown,
): OneSidedRequest {
  const slice = localSlice(local, kind);
  const remote = decodeDescriptor(remoteDescriptor);
  if (slice.length > MAX_OPERATION_BYTES) {
    throw new FabricError(
      'EMSGSIZE',
      `one ${kind} moves at most ${MAX_OPERATION_BYTES} bytes: split it into several`,
    );
  }
  if (typeof remoteOffset !== 'number' || !Number.isSafeInteger(remoteOffset) || remoteOffset < 0) {
    throw new FabricError(
      'EINVAL',
      `${kind}: remoteOffset must be a non-negative integer, got ${String(remoteOffset)}`,
    );
  }
  if (remoteOffset + slice.length > remote.length) {
    throw new FabricError(
      'ERANGE',
      `${kind} of ${slice.length} bytes at offset ${remoteOffset} passes the end of the remote region (${remote.length} bytes)`,
    );
  }
  const needed = kind === 'write' ? ACCESS_WRITE : ACCESS_READ;
  if ((remote.access & needed) === 0) {
    throw new FabricError('EACCES', `the remote region was not registered with ${kind} access`);
  }
  return { slice, remote, remoteOffset };
}

/** A byte view of any ArrayBufferView (a typed array such as a Float32Array tensor, a DataView), not a copy. */
function bytesOf(part: unknown): Uint8Array | undefined {
  if (part instanceof Uint8Array) return part;
  return ArrayBuffer.isView(part) ? new Uint8Array(part.buffer, part.byteOffset, part.byteLength) : undefined;
}

/** Checks and flattens the argument of send(). */
export function messageParts(message: unknown): { parts: readonly Uint8Array[]; length: number } {
  if (message instanceof Uint8Array) return { parts: [message], length: message.length };
  const candidates = Array.isArray(message) ? message : [message];
  const parts: Uint8Array[] = [];
  let length = 0;
  for (const candidate of candidates) {
    const part = bytesOf(candidate);
    if (!part) {
      throw new FabricError(
        'EINVAL',
        'send() takes a Uint8Array, Buffer or other typed array, or an array of them',
      );
    }
    parts.push(part);
    length += part.length;
  }
  return { parts, length };
}
