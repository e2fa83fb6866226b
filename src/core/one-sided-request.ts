import { FabricError } from '../api/errors.js';
import { localSlice, type RegionSlice } from '../api/region.js';
import { ACCESS_READ, ACCESS_WRITE, decodeDescriptor, type RemoteRegion } from '../protocol/descriptor.js';

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
