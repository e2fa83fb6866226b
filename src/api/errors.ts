/** Stable error codes. Scripts and callers may switch on them; messages may change. */
export type FabricErrorCode =
  | 'EINVAL'
  | 'ENODEV'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'EPROTO'
  | 'EACCES'
  | 'ERANGE'
  | 'EMSGSIZE'
  | 'EADDRINUSE'
  | 'ECLOSED'
  | 'ENOMEM'
  | 'ENOBUFS'
  | 'EBUSY';

const CODES: readonly FabricErrorCode[] = [
  'EINVAL',
  'ENODEV',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPROTO',
  'EACCES',
  'ERANGE',
  'EMSGSIZE',
  'EADDRINUSE',
  'ECLOSED',
  'ENOMEM',
  'ENOBUFS',
  'EBUSY',
];

/** Every failure surfaced by fabric-transport is a FabricError with a stable `code`. */
export class FabricError extends Error {
  readonly code: FabricErrorCode;

  constructor(code: FabricErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FabricError';
    this.code = code;
  }
}

/** Numeric form of a code, as carried in ERROR frames (see docs/PROTOCOL.md). */
export function errorCodeToWire(code: FabricErrorCode): number {
  return CODES.indexOf(code) + 1;
}

export function errorCodeFromWire(value: number): FabricErrorCode {
  return CODES[value - 1] ?? 'EPROTO';
}

/** Maps a node:net / libuv error onto a FabricError that says what to do next. */
export function fromSocketError(error: Error & { code?: string }, peer: string): FabricError {
  switch (error.code) {
    case 'ECONNREFUSED':
      return new FabricError(
        'ECONNREFUSED',
        `nobody is listening on ${peer}: start the server there or check the host and port`,
        { cause: error },
      );
    case 'ETIMEDOUT':
      return new FabricError(
        'ETIMEDOUT',
        `${peer} did not answer in time: check that the host is reachable`,
        {
          cause: error,
        },
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new FabricError('EINVAL', `cannot resolve the host of ${peer}: check the host name`, {
        cause: error,
      });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new FabricError('ECONNREFUSED', `no route to ${peer}: check the address and the network`, {
        cause: error,
      });
    case 'EADDRINUSE':
      return new FabricError(
        'EADDRINUSE',
        `${peer} is already in use: pick another port, or port 0 for any`,
        {
          cause: error,
        },
      );
    case 'EADDRNOTAVAIL':
      return new FabricError('EINVAL', `${peer} is not an address of this host: check the host`, {
        cause: error,
      });
    case 'EACCES':
    case 'EPERM':
      return new FabricError('EACCES', `not allowed to use ${peer}: ports below 1024 need privileges`, {
        cause: error,
      });
    default:
      return new FabricError('ECONNRESET', `connection to ${peer} failed: ${error.message}`, {
        cause: error,
      });
  }
}
