import { FabricError } from '../api/errors.js';

/** Where a value came from, for error messages. */
export type Origin = { option: string; env?: string };

/** Parses one option's value, given as the option itself or (`fromEnv`) as its environment variable's text. */
export type Parse<T> = (value: unknown, origin: Origin, fromEnv: boolean) => T;

/** One option: the `FABRIC_*` variable that sets its default, if any, and how its value is checked. */
export interface Setting<T> {
  env?: string;
  parse: Parse<T>;
}

/**
 * What a transport adds to the options of listen() and connect(): a setting for each of its `Options`, and
 * how the resolved options carry them (defaults applied).
 */
export interface OptionsFragment<Options extends object = object, Resolved extends object = object> {
  readonly settings: { readonly [Name in keyof Options]-?: Setting<unknown> };
  resolve(options: Readonly<Record<string, unknown>>): Resolved;
}

export function invalid(origin: Origin, fromEnv: boolean, value: unknown, expected: string): FabricError {
  const where = fromEnv
    ? `${origin.env}=${String(value)}`
    : `option ${origin.option}=${JSON.stringify(value)}`;
  return new FabricError('EINVAL', `${where} is invalid: expected ${expected}`);
}

/** An explicit option beats its environment variable; an absent one falls back to it (undefined: neither). */
export function readSetting<T>(
  options: Readonly<Record<string, unknown>>,
  name: string,
  spec: Setting<T>,
): T | undefined {
  const origin: Origin = spec.env === undefined ? { option: name } : { option: name, env: spec.env };
  const explicit = options[name];
  if (explicit !== undefined) return spec.parse(explicit, origin, false);
  const fromEnv = spec.env === undefined ? undefined : process.env[spec.env];
  if (fromEnv === undefined) return undefined;
  return spec.parse(fromEnv, origin, true);
}

export function parseChoice<T extends string>(allowed: () => readonly T[]): Parse<T> {
  return (value, origin, fromEnv) => {
    const choices = allowed();
    if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
    throw invalid(origin, fromEnv, value, `one of ${choices.join(', ')}`);
  };
}

export function parseInteger(min: number, max: number): Parse<number> {
  return (value, origin, fromEnv) => {
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

export function parseSize(min: number, max: number): Parse<number> {
  return (value, origin, fromEnv) => {
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
