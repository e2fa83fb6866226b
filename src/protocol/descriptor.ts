import { FabricError } from '../api/errors.js';

/** Byte size of a region descriptor (docs/PROTOCOL.md, "Region descriptor"). */
export const DESCRIPTOR_SIZE = 24;
const DESCRIPTOR_VERSION = 1;
export const ACCESS_READ = 0x1;
export const ACCESS_WRITE = 0x2;

/** What a descriptor tells the peer: no address, only a key the owner checks, the length and the access. */
export interface RemoteRegion {
  key: bigint;
  length: number;
  access: number;
}

export function encodeDescriptor(region: RemoteRegion): Uint8Array {
  const buf = Buffer.alloc(DESCRIPTOR_SIZE);
  buf.writeUInt8(DESCRIPTOR_VERSION, 0);
  buf.writeUInt8(region.access, 1);
  buf.writeUInt32LE(region.length % 0x1_0000_0000, 8);
  buf.writeUInt32LE(Math.floor(region.length / 0x1_0000_0000), 12);
  buf.writeBigUInt64LE(region.key, 16);
  return new Uint8Array(buf.buffer, buf.byteOffset, DESCRIPTOR_SIZE);
}

export function decodeDescriptor(descriptor: unknown): RemoteRegion {
  if (!(descriptor instanceof Uint8Array) || descriptor.length !== DESCRIPTOR_SIZE) {
    throw new FabricError(
      'EINVAL',
      `a region descriptor is a ${DESCRIPTOR_SIZE}-byte Uint8Array taken from region.descriptor, sent by the peer`,
    );
  }
  const view = new DataView(descriptor.buffer, descriptor.byteOffset, DESCRIPTOR_SIZE);
  const access = view.getUint8(1);
  const lengthHigh = view.getUint32(12, true);
  if (
    view.getUint8(0) !== DESCRIPTOR_VERSION ||
    access === 0 ||
    (access & ~(ACCESS_READ | ACCESS_WRITE)) !== 0 ||
    view.getUint16(2, true) !== 0 ||
    view.getUint32(4, true) !== 0 ||
    lengthHigh > 0x1f_ffff
  ) {
    throw new FabricError('EINVAL', 'not a valid region descriptor (corrupted, or from another version)');
  }
  return {
    access,
    length: lengthHigh * 0x1_0000_0000 + view.getUint32(8, true),
    key: view.getBigUint64(16, true),
  };
}
