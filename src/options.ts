import { FabricError } from './errors.js';
import { HEADER_SIZE } from './protocol/frame.js';

export type TransportKind = 'tcp' | 'roce' | 'ib';
export type TransportChoice = 'auto' | TransportKind;
export type PollMode = 'event' | 'spin' | 'hybrid';

/** One entry of `FABRIC_DEVICE` / `device`: `name`, `name:port`, or `^name` to exclude. */
export interface DeviceFilter {
  name: string;
  port?: number;
  exclude: boolean;
}

/** Options shared by `listen` and `connect`. Each has an environment variable that sets its default. */
export interface TransportOptions {
  /** `FABRIC_TRANSPORT`: 'auto' (default) picks InfiniBand, then RoCE, then TCP. */
  transport?: TransportChoice;
  /** `FABRIC_DEVICE`: RDMA devices to use, e.g. `mlx5_0,mlx5_1:2` or `^mlx5_2`. */
  device?: string;
  /** `FABRIC_GID_INDEX`: overrides the GID that RDMA-CM would pick. */
  gidIndex?: number;
  /** `FABRIC_IB_PORT`: RDMA port number (1-based). */
  ibPort?: number;
  /** `FABRIC_POLL`: how completions are waited for. */
  pollMode?: PollMode;
  /** `FABRIC_SPIN_US`: how long 'spin' and 'hybrid' busy-poll, in microseconds. */
  spinMicros?: number;
  /** `FABRIC_MAX_MESSAGE`: largest message accepted from the peer, in bytes (suffixes K, M, G allowed in the variable). */
  maxMessageSize?: number;
  /** `FABRIC_TOKEN`: shared secret; both ends must hold the same one. */
  token?: string;
  /** Milliseconds allowed for connection set-up and handshake (default 10000). */
  handshakeTimeout?: number;
  /**
   * `FABRIC_MAX_IN_FLIGHT`: one-sided operations (writes, reads) one connection may have unsettled at once
   * (default 1024); one more rejects with ENOBUFS. An owner also drops a TCP peer that leaves more answers than
   * that unread. Messages are bounded by flow control instead (maxBufferedBytes).
   */
  maxInFlight?: number;
  /**
   * `FABRIC_MAX_BUFFERED`: the credit window announced to the peer: bytes of received messages, each counted
   * as its length + 32, held for an application that reads slowly; the peer's further sends wait for credit
   * (default maxMessageSize + 32 + 1 MiB, at least maxMessageSize + 32).
   */
  maxBufferedBytes?: number;
  /**
   * `FABRIC_KEEPALIVE_MS`: a TCP connection whose peer has acknowledged nothing for this long (idle or not:
   * keepalive probes and TCP_USER_TIMEOUT) fails with ETIMEDOUT; 0 turns it off (default 60000, at least 1000).
   */
  keepalive?: number;
}

export interface ConnectOptions extends TransportOptions {
  host: string;
  port: number;
}

export interface ListenOptions extends TransportOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on; 0 (default) picks a free one, read it back from `listener.port`. */
  port?: number;
  /**
   * `FABRIC_MAX_CONNECTIONS`: connections the listener holds at once, in their handshake or open (default
   * 1024); a client beyond them is refused with EBUSY.
   */
  maxConnections?: number;
}

export interface ResolvedOptions {
  transport: TransportChoice;
  devices: DeviceFilter[];
  gidIndex: number | undefined;
  ibPort: number | undefined;
  pollMode: PollMode;
  spinMicros: number;
  maxMessageSize: number;
  token: string | undefined;
  handshakeTimeout: number;
  maxInFlight: number;
  /** Bytes of messages the peer may have sent and this side not consumed yet (its credit). */
  receiveWindow: number;
  keepalive: number;
  maxConnections: number;
}

export const MAX_MESSAGE_SIZE_LIMIT = 1 << 30;

/** Where a value came from, for error messages. */
type Origin = { option: string; env?: string };

function invalid(origin: Origin, fromEnv: boolean, value: unknown, expected: string): FabricError {
  const where = fromEnv
    ? `${origin.env}=${String(value)}`
    : `option ${origin.option}=${JSON.stringify(value)}`;
  return new FabricError('EINVAL', `${where} is invalid: expected ${expected}`);
}

function parseChoice<T extends string>(allowed: readonly T[]) {
  return (value: unknown, origin: Origin, fromEnv: boolean): T => {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    throw invalid(origin, fromEnv, value, `one of ${allowed.join(', ')}`);
  };
}

function parseInteger(min: number, max: number) {
  return (value: unknown, origin: Origin, fromEnv: boolean): number => {
    const n = fromEnv && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
    throw invalid(origin, fromEnv, value, `an integer from ${min} to ${max}`);
  };
}

const SIZE_SUFFIX: Record<string, number> = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 };

/** Bytes written as `4096`, `64K`, `16 MiB` or `1G` (powers of two); NaN for anything else. */
export function parseByteSize(text: string): number {
  const match = /^(\d+)\s*([KMG]?)(i?B)?$/i.exec(text.trim());
  return match ? Number(match[1]) * (SIZE_SUFFIX[(match[2] ?? '').toUpperCase()] ?? 1) : Number.NaN;
}

function parseSize(min: number, max: number) {
  return (value: unknown, origin: Origin, fromEnv: boolean): number => {
    const n = fromEnv && typeof value === 'string' ? parseByteSize(value) : value;
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
    throw invalid(
      origin,
      fromEnv,
      value,
      `a size in bytes from ${min} to ${max} (K, M and G suffixes allowed)`,
    );
  };
}

function parseDevices(value: unknown, origin: Origin, fromEnv: boolean): DeviceFilter[] {
  const expected =
    'a comma-separated list of device names, each optionally `:port`, `^` to exclude (e.g. mlx5_0:1,^mlx5_2)';
  if (typeof value !== 'string') throw invalid(origin, fromEnv, value, expected);
  const filters: DeviceFilter[] = [];
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const match = /^(\^?)([A-Za-z0-9_.-]+)(?::(\d{1,3}))?$/.exec(entry);
    const port = match?.[3] === undefined ? undefined : Number(match[3]);
    if (!match || match[2] === undefined || (port !== undefined && (port < 1 || port > 255))) {
      throw invalid(origin, fromEnv, value, expected);
    }
    filters.push(
      port === undefined
        ? { name: match[2], exclude: match[1] === '^' }
        : { name: match[2], port, exclude: match[1] === '^' },
    );
  }
  return filters;
}

function parseToken(value: unknown, origin: Origin, fromEnv: boolean): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw invalid(origin, fromEnv, fromEnv ? '(empty)' : '(not a non-empty string)', 'a non-empty string');
}

function parseKeepalive(value: unknown, origin: Origin, fromEnv: boolean): number {
  const n = fromEnv && typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (n === 0 || (typeof n === 'number' && Number.isInteger(n) && n >= 1000 && n <= 3_600_000)) return n;
  throw invalid(origin, fromEnv, value, '0 (off) or milliseconds from 1000 to 3600000');
}

interface Setting<T> {
  env?: string;
  parse: (value: unknown, origin: Origin, fromEnv: boolean) => T;
}

const SETTINGS = {
  transport: { env: 'FABRIC_TRANSPORT', parse: parseChoice<TransportChoice>(['auto', 'tcp', 'roce', 'ib']) },
  device: { env: 'FABRIC_DEVICE', parse: parseDevices },
  gidIndex: { env: 'FABRIC_GID_INDEX', parse: parseInteger(0, 65535) },
  ibPort: { env: 'FABRIC_IB_PORT', parse: parseInteger(1, 255) },
  pollMode: { env: 'FABRIC_POLL', parse: parseChoice<PollMode>(['event', 'spin', 'hybrid']) },
  spinMicros: { env: 'FABRIC_SPIN_US', parse: parseInteger(0, 1_000_000) },
  maxMessageSize: { env: 'FABRIC_MAX_MESSAGE', parse: parseSize(1, MAX_MESSAGE_SIZE_LIMIT) },
  token: { env: 'FABRIC_TOKEN', parse: parseToken },
  handshakeTimeout: { parse: parseInteger(1, 3_600_000) },
  maxInFlight: { env: 'FABRIC_MAX_IN_FLIGHT', parse: parseInteger(1, 1 << 20) },
  maxBufferedBytes: { env: 'FABRIC_MAX_BUFFERED', parse: parseSize(HEADER_SIZE + 1, 0xffff_ffff) },
  keepalive: { env: 'FABRIC_KEEPALIVE_MS', parse: parseKeepalive },
  maxConnections: { env: 'FABRIC_MAX_CONNECTIONS', parse: parseInteger(1, 1 << 20) },
} satisfies Record<Exclude<keyof ListenOptions, 'host' | 'port'>, Setting<unknown>>;

type SettingsInput = TransportOptions & { maxConnections?: number };
type Parsed<K extends keyof typeof SETTINGS> = ReturnType<(typeof SETTINGS)[K]['parse']>;

/** An explicit option beats its environment variable; an absent one falls back to it, then to the default. */
function setting<K extends keyof typeof SETTINGS>(options: SettingsInput, name: K): Parsed<K> | undefined {
  const spec: Setting<unknown> = SETTINGS[name];
  const origin: Origin = spec.env === undefined ? { option: name } : { option: name, env: spec.env };
  const explicit = options[name];
  if (explicit !== undefined) return spec.parse(explicit, origin, false) as Parsed<K>;
  const fromEnv = spec.env === undefined ? undefined : process.env[spec.env];
  if (fromEnv === undefined) return undefined;
  return spec.parse(fromEnv, origin, true) as Parsed<K>;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 16 << 20;
/**
 * A slice of busy-polling: long enough that returning to Node's loop between slices (several µs) costs little,
 * short enough that timers and other sockets still run often.
 */
export const DEFAULT_SPIN_MICROS = 50;

/** Message bytes a peer may send beyond one maximal message, by default, so small ones keep flowing beside it. */
const DEFAULT_WINDOW_SLACK = 1 << 20;

export function resolveOptions(options: SettingsInput): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new FabricError('EINVAL', 'options must be an object');
  }
  const maxMessageSize = setting(options, 'maxMessageSize') ?? DEFAULT_MAX_MESSAGE_SIZE;
  const receiveWindow =
    setting(options, 'maxBufferedBytes') ?? maxMessageSize + HEADER_SIZE + DEFAULT_WINDOW_SLACK;
  if (receiveWindow < maxMessageSize + HEADER_SIZE) {
    throw new FabricError(
      'EINVAL',
      `maxBufferedBytes (${receiveWindow}) must hold one message of maxMessageSize (${maxMessageSize}) plus its ${HEADER_SIZE}-byte header`,
    );
  }
  return {
    transport: setting(options, 'transport') ?? 'auto',
    devices: setting(options, 'device') ?? [],
    gidIndex: setting(options, 'gidIndex'),
    ibPort: setting(options, 'ibPort'),
    pollMode: setting(options, 'pollMode') ?? 'event',
    spinMicros: setting(options, 'spinMicros') ?? DEFAULT_SPIN_MICROS,
    maxMessageSize,
    token: setting(options, 'token'),
    handshakeTimeout: setting(options, 'handshakeTimeout') ?? 10_000,
    maxInFlight: setting(options, 'maxInFlight') ?? 1024,
    receiveWindow,
    keepalive: setting(options, 'keepalive') ?? 60_000,
    maxConnections: setting(options, 'maxConnections') ?? 1024,
  };
}

export function checkHost(host: unknown, what: string): string {
  if (typeof host === 'string' && host.length > 0) return host;
  throw new FabricError('EINVAL', `${what} must be a host name or IP address, got ${JSON.stringify(host)}`);
}

export function checkPort(port: unknown, min: number, what: string): number {
  if (typeof port === 'number' && Number.isInteger(port) && port >= min && port <= 65535) return port;
  throw new FabricError(
    'EINVAL',
    `${what} must be an integer from ${min} to 65535, got ${JSON.stringify(port)}`,
  );
}
