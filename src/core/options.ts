import { FabricError } from '../api/errors.js';
import type {
  ListenOptions,
  PollMode,
  TransportChoice,
  TransportKind,
  TransportOptions,
} from '../api/options.js';
import { HEADER_SIZE } from '../protocol/frame.js';
import { type ResolvedTransportOptions, TRANSPORTS } from '../transports/registry.js';
import type { Transport } from '../transports/transport.js';
import {
  invalid,
  parseChoice,
  parseInteger,
  parseSize,
  readSetting,
  type Setting,
} from './option-settings.js';

export interface CommonResolvedOptions {
  transport: TransportChoice;
  pollMode: PollMode;
  spinMicros: number;
  maxMessageSize: number;
  token: string | undefined;
  handshakeTimeout: number;
  maxInFlight: number;
  /** Bytes of messages the peer may have sent and this side not consumed yet (its credit). */
  receiveWindow: number;
  maxConnections: number;
}

/** listen()'s and connect()'s options with every default applied: the common ones and each transport's. */
export type ResolvedOptions = CommonResolvedOptions & ResolvedTransportOptions;

export const MAX_MESSAGE_SIZE_LIMIT = 1 << 30;

function parseToken(value: unknown, origin: { option: string; env?: string }, fromEnv: boolean): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw invalid(origin, fromEnv, fromEnv ? '(empty)' : '(not a non-empty string)', 'a non-empty string');
}

/** Every kind the registered transports provide, in the order transports() lists them. */
export function registeredKinds(): TransportKind[] {
  return TRANSPORTS.flatMap((transport: Transport) => transport.kinds as TransportKind[]);
}

/** What the `transport` option may name: 'auto' and every registered kind. */
export function transportChoices(): TransportChoice[] {
  return ['auto', ...registeredKinds()];
}

const SETTINGS = {
  transport: { env: 'FABRIC_TRANSPORT', parse: parseChoice<TransportChoice>(transportChoices) },
  pollMode: { env: 'FABRIC_POLL', parse: parseChoice<PollMode>(() => ['event', 'spin', 'hybrid']) },
  spinMicros: { env: 'FABRIC_SPIN_US', parse: parseInteger(0, 1_000_000) },
  maxMessageSize: { env: 'FABRIC_MAX_MESSAGE', parse: parseSize(1, MAX_MESSAGE_SIZE_LIMIT) },
  token: { env: 'FABRIC_TOKEN', parse: parseToken },
  handshakeTimeout: { parse: parseInteger(1, 3_600_000) },
  maxInFlight: { env: 'FABRIC_MAX_IN_FLIGHT', parse: parseInteger(1, 1 << 20) },
  maxBufferedBytes: { env: 'FABRIC_MAX_BUFFERED', parse: parseSize(HEADER_SIZE + 1, 0xffff_ffff) },
  maxConnections: { env: 'FABRIC_MAX_CONNECTIONS', parse: parseInteger(1, 1 << 20) },
} satisfies Record<string, Setting<unknown>>;

type SettingsInput = TransportOptions & Pick<ListenOptions, 'maxConnections'>;

function setting<K extends keyof typeof SETTINGS>(
  options: SettingsInput,
  name: K,
): ReturnType<(typeof SETTINGS)[K]['parse']> | undefined {
  return readSetting(options as Record<string, unknown>, name, SETTINGS[name] as Setting<unknown>) as
    | ReturnType<(typeof SETTINGS)[K]['parse']>
    | undefined;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 16 << 20;
/**
 * A slice of busy-polling: long enough that returning to Node's loop between slices (several µs) costs little,
 * short enough that timers and other sockets still run often.
 */
export const DEFAULT_SPIN_MICROS = 50;

/** Message bytes a peer may send beyond one maximal message, by default, so small ones keep flowing beside it. */
const DEFAULT_WINDOW_SLACK = 1 << 20;

/** Every transport's options, resolved. */
function transportOptions(options: Readonly<Record<string, unknown>>): ResolvedTransportOptions {
  return Object.assign({}, ...TRANSPORTS.map((transport) => transport.options.resolve(options)));
}

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
    pollMode: setting(options, 'pollMode') ?? 'event',
    spinMicros: setting(options, 'spinMicros') ?? DEFAULT_SPIN_MICROS,
    maxMessageSize,
    token: setting(options, 'token'),
    handshakeTimeout: setting(options, 'handshakeTimeout') ?? 10_000,
    maxInFlight: setting(options, 'maxInFlight') ?? 1024,
    receiveWindow,
    maxConnections: setting(options, 'maxConnections') ?? 1024,
    ...transportOptions(options as Record<string, unknown>),
  };
}

/** The argument of listen() or connect(), which must be an options object. */
export function optionsArgument<T>(options: T, what: string): T {
  if (options === null || typeof options !== 'object') {
    throw new FabricError('EINVAL', `${what}() takes an options object`);
  }
  return options;
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
