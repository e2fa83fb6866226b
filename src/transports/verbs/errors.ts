import { errorCodeFromWire, errorCodeToWire, FabricError } from '../../api/errors.js';

/** Private data of a connection request this library rejects on purpose: magic, u8 error code, UTF-8 text. */
const REJECT_MAGIC = Buffer.from('FTRJ');
/** What a reject's private data can carry over InfiniBand's CM. */
const REJECT_DATA_BYTES = 148;

/** The private data that tells a refused client why (decoded by connectError). */
export function rejection(reason: FabricError): Uint8Array {
  const text = Buffer.from(reason.message).subarray(0, REJECT_DATA_BYTES - REJECT_MAGIC.length - 1);
  return Buffer.concat([REJECT_MAGIC, Buffer.from([errorCodeToWire(reason.code)]), text]);
}

/** ibv_wc_status values that need their own advice (verbs.h). */
const WC_STATUS: Record<number, [FabricError['code'], string]> = {
  1: ['EPROTO', 'local length error (a frame larger than the receive buffer)'],
  2: ['EPROTO', 'local queue pair operation error'],
  4: ['EPROTO', 'local protection error (memory not registered for this operation)'],
  5: ['ECONNRESET', 'work request flushed: the queue pair is in the error state'],
  9: ['EPROTO', 'the peer rejected the request as invalid'],
  10: [
    'EACCES',
    'the peer refused the remote access (a deregistered region, or a key it no longer honours); the connection cannot be used any more',
  ],
  11: ['EPROTO', 'the peer failed to execute the operation'],
  12: [
    'ETIMEDOUT',
    'transport retries exceeded: the peer is unreachable on this GID (check `fabric-transport info`, the link and the GID type on both sides)',
  ],
  13: [
    'EPROTO',
    'receiver-not-ready retries exceeded: the peer posted no receive buffer (a protocol bug on one side)',
  ],
};

/** The FabricError for a failed work completion on the connection to `peer`. */
export function completionError(status: number, peer: string): FabricError {
  const [code, text] = WC_STATUS[status] ?? ['ECONNRESET', `work completion failed with status ${status}`];
  return new FabricError(code, `RDMA connection to ${peer}: ${text}`);
}

/** IB CM reject reasons that mean "nobody listens there" (invalid service id; consumer reject). */
const REFUSED_REASONS = new Set([8, 28]);

/** The FabricError for an RDMA-CM event that ended a connection attempt to `peer`. */
export function connectError(event: string, args: unknown[], peer: string): FabricError {
  if (event === 'rejected') {
    const status = Number(args[0]);
    const data = args[1] instanceof Uint8Array ? Buffer.from(args[1]) : Buffer.alloc(0);
    if (data.length > REJECT_MAGIC.length && data.subarray(0, REJECT_MAGIC.length).equals(REJECT_MAGIC)) {
      const text = data
        .subarray(REJECT_MAGIC.length + 1)
        .toString('utf8')
        .replace(/\0+$/, '');
      return new FabricError(
        errorCodeFromWire(data[REJECT_MAGIC.length] as number),
        `${peer} refused: ${text}`,
      );
    }
    return REFUSED_REASONS.has(status)
      ? new FabricError(
          'ECONNREFUSED',
          `nobody is listening on ${peer} over RDMA: start the server there, or check the host, port and transport`,
        )
      : new FabricError('ECONNREFUSED', `${peer} rejected the RDMA connection (reason ${status})`);
  }
  const name = String(args[0] ?? event);
  switch (name) {
    case 'RDMA_CM_EVENT_ADDR_ERROR':
      return new FabricError(
        'ENODEV',
        `no RDMA device has a route to ${peer}: check the address and \`fabric-transport info\``,
      );
    case 'RDMA_CM_EVENT_ROUTE_ERROR':
      return new FabricError(
        'ECONNREFUSED',
        `no RDMA route to ${peer} (the neighbour did not answer): check the address and the network`,
      );
    case 'RDMA_CM_EVENT_UNREACHABLE':
      return new FabricError(
        'ETIMEDOUT',
        `${peer} is unreachable on this GID: check \`fabric-transport info\` and that the peer listens there`,
      );
    default:
      return new FabricError('ECONNRESET', `RDMA connection to ${peer} failed: ${name}`);
  }
}

/** A FabricError for a native call that failed (errno ENOMEM: the locked-memory limit, most likely). */
export function nativeFailure(error: unknown, what: string): FabricError {
  if (error instanceof FabricError) return error;
  const { errno, message } = error as { errno?: number; message?: string };
  const ENOMEM = 12;
  return new FabricError(errno === ENOMEM ? 'ENOMEM' : 'ECONNRESET', `${what}: ${message ?? String(error)}`, {
    cause: error,
  });
}
