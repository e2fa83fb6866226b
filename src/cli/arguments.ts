// Command-line options, parsed by node:util's parseArgs (`--name value`, `--name=value`, `--flag`), checked, with
// plain-words errors.
import { parseArgs } from 'node:util';
import type { TransportOptions } from '../api/options.js';
import { parseByteSize } from '../core/option-settings.js';
import { type ResolvedOptions, resolveOptions } from '../core/options.js';

/** Bad usage: the command prints the message and its usage, and exits with 2. */
export class UsageError extends Error {}

/** `options` with the FABRIC_* variables, resolved as listen() and connect() do; an invalid one is bad usage. */
export function resolvedOptions(options: TransportOptions = {}): ResolvedOptions {
  try {
    return resolveOptions(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A command's options as node:util's parseArgs declares them: `{ peer: { type: 'string' } }`. */
export type OptionSpecs = Record<string, { type: 'string' | 'boolean' }>;
/** The names of `O`'s options of `type`. */
type NamesOf<O extends OptionSpecs, T> = { [K in keyof O]: O[K]['type'] extends T ? K : never }[keyof O] &
  string;
/** The flags of a command whose options are `O`. */
export type FlagsOf<O extends OptionSpecs> = Flags<NamesOf<O, 'string'>, NamesOf<O, 'boolean'>>;

/** parseArgs' declaration of the options named: `valued` take a value (type 'string'), `switches` do not. */
export function optionSpecs<V extends string, S extends string>(
  valued: readonly V[],
  switches: readonly S[],
): Record<V, { type: 'string' }> & Record<S, { type: 'boolean' }> {
  return Object.fromEntries([
    ...valued.map((name) => [name, { type: 'string' }]),
    ...switches.map((name) => [name, { type: 'boolean' }]),
  ]);
}

/** Why parseArgs refused `args`, in our words: the first argument that is not one of `options` as it should be. */
function misuse(args: readonly string[], options: OptionSpecs, refusal: Error): UsageError {
  const { tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional')
      return new UsageError(`unexpected argument ${JSON.stringify(token.value)}`);
    if (token.kind !== 'option') continue;
    const type = Object.hasOwn(options, token.name) ? options[token.name]?.type : undefined;
    if (type === undefined) return new UsageError(`unknown option ${token.rawName}`);
    if (type === 'boolean' && token.value !== undefined)
      return new UsageError(`--${token.name} takes no value`);
    if (type !== 'string') continue;
    // Strict mode takes a separate value that looks like an option (-x, --x) for a forgotten value.
    const value = token.inlineValue ? undefined : token.value;
    if (token.value === undefined || (value !== undefined && value.length > 1 && value.startsWith('-'))) {
      const dash = value !== undefined && !value.startsWith('--');
      const hint = dash ? ` (--${token.name}=${value} gives one that starts with a dash)` : '';
      return new UsageError(`--${token.name} needs a value${hint}`);
    }
  }
  return new UsageError(refusal.message);
}

/** A command's options, parsed by node:util's parseArgs; the accessors check each value. */
export class Flags<Valued extends string = string, Switch extends string = string> {
  private constructor(private readonly values: Record<string, string | boolean | undefined>) {}

  /** Parses `args`: `--name value`, `--name=value` and `--switch`, each one of `options`; no positional arguments. */
  static parse<O extends OptionSpecs>(args: readonly string[], options: O): FlagsOf<O> {
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))
        throw misuse(args, options, error as Error);
      throw error;
    }
    const empty = Object.keys(values).find((name) => values[name] === '');
    if (empty !== undefined) throw new UsageError(`--${empty} needs a value`);
    return new Flags(values);
  }

  /** Whether the option was given. */
  has(name: Valued | Switch): boolean {
    return this.values[name] !== undefined;
  }

  text(name: Valued): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  /** A comma-separated list whose every entry is one of `allowed`. */
  choices<T extends string>(name: Valued, allowed: readonly T[]): T[] | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const entries = value.split(',').map((entry) => entry.trim());
    for (const entry of entries) {
      if (!(allowed as readonly string[]).includes(entry)) {
        throw new UsageError(`--${name}: ${JSON.stringify(entry)} is not one of ${allowed.join(', ')}`);
      }
    }
    return [...new Set(entries)] as T[];
  }

  /** A comma-separated list of sizes in bytes (4096, 64K, 16M, 1G). */
  sizes(name: Valued, max: number): number[] | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    return value.split(',').map((entry) => {
      const bytes = parseByteSize(entry);
      if (!Number.isInteger(bytes) || bytes < 1 || bytes > max) {
        throw new UsageError(
          `--${name}: ${JSON.stringify(entry)} is not a size from 1 byte to ${max} bytes (e.g. 8, 64K, 16M)`,
        );
      }
      return bytes;
    });
  }

  /** A number from `min` to `max`; an integer unless `fractional`. */
  number(name: Valued, min: number, max: number, fractional = false): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (!fractional && !Number.isInteger(n))) {
      throw new UsageError(
        `--${name}: ${JSON.stringify(value)} is not ${fractional ? 'a number' : 'an integer'} from ${min} to ${max}`,
      );
    }
    return n;
  }
}
