// Command-line options: `--name value` and `--flag`, checked, with plain-words errors.
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

export class Flags {
  private constructor(private readonly values: Map<string, string | true>) {}

  /** Parses `args`: each must be one of `valued` (followed by a value) or `switches`. */
  static parse(args: readonly string[], valued: readonly string[], switches: readonly string[]): Flags {
    const values = new Map<string, string | true>();
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] as string;
      if (switches.includes(arg)) values.set(arg, true);
      else if (valued.includes(arg)) {
        const value = args[++i];
        if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
        values.set(arg, value);
      } else throw new UsageError(`unknown option ${arg}`);
    }
    return new Flags(values);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  text(name: string): string | undefined {
    const value = this.values.get(name);
    return typeof value === 'string' ? value : undefined;
  }

  /** A comma-separated list whose every entry is one of `allowed`. */
  choices<T extends string>(name: string, allowed: readonly T[]): T[] | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const entries = value.split(',').map((entry) => entry.trim());
    for (const entry of entries) {
      if (!(allowed as readonly string[]).includes(entry)) {
        throw new UsageError(`${name}: ${JSON.stringify(entry)} is not one of ${allowed.join(', ')}`);
      }
    }
    return [...new Set(entries)] as T[];
  }

  /** A comma-separated list of sizes in bytes (4096, 64K, 16M, 1G). */
  sizes(name: string, max: number): number[] | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    return value.split(',').map((entry) => {
      const bytes = parseByteSize(entry);
      if (!Number.isInteger(bytes) || bytes < 1 || bytes > max) {
        throw new UsageError(
          `${name}: ${JSON.stringify(entry)} is not a size from 1 byte to ${max} bytes (e.g. 8, 64K, 16M)`,
        );
      }
      return bytes;
    });
  }

  /** A number from `min` to `max`; an integer unless `fractional`. */
  number(name: string, min: number, max: number, fractional = false): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (!fractional && !Number.isInteger(n))) {
      throw new UsageError(
        `${name}: ${JSON.stringify(value)} is not ${fractional ? 'a number' : 'an integer'} from ${min} to ${max}`,
      );
    }
    return n;
  }
}
