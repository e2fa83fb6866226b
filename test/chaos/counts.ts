// What every chaos participant counts, and how a promise is tracked until it settles.
import { FabricError } from '../../src/index.js';

/** Codes an operation may fail with while peers die, connections close and regions are revoked. */
const EXPECTED_CODES = new Set(['ECLOSED', 'ECONNRESET', 'ECONNREFUSED', 'EACCES', 'ETIMEDOUT']);

export interface Counts {
  /** Promises the library returned, and those of them that settled. */
  started: number;
  settled: number;
  /** Messages and one-sided ranges whose bytes were checked, and those bytes. */
  verified: number;
  verifiedBytes: number;
  /** Bytes that arrived altered: must stay 0. */
  corrupt: number;
  /** Rejections by code; a code outside EXPECTED_CODES, or an error that is not a FabricError, is unexpected. */
  rejections: Record<string, number>;
  unexpected: string[];
}

export function newCounts(): Counts {
  return {
    started: 0,
    settled: 0,
    verified: 0,
    verifiedBytes: 0,
    corrupt: 0,
    rejections: {},
    unexpected: [],
  };
}

export function addCounts(into: Counts, from: Counts): void {
  into.started += from.started;
  into.settled += from.settled;
  into.verified += from.verified;
  into.verifiedBytes += from.verifiedBytes;
  into.corrupt += from.corrupt;
  for (const [code, n] of Object.entries(from.rejections))
    into.rejections[code] = (into.rejections[code] ?? 0) + n;
  into.unexpected.push(...from.unexpected);
}

/** Counts `promise` as started, and as settled once it settles; a rejection is recorded by its code. */
export function track<T>(counts: Counts, promise: Promise<T>): Promise<T> {
  counts.started++;
  return promise.then(
    (value) => {
      counts.settled++;
      return value;
    },
    (error: unknown) => {
      counts.settled++;
      noteRejection(counts, error);
      throw error;
    },
  );
}

export function noteRejection(counts: Counts, error: unknown): void {
  const code = error instanceof FabricError ? error.code : 'not a FabricError';
  counts.rejections[code] = (counts.rejections[code] ?? 0) + 1;
  if (!EXPECTED_CODES.has(code) && counts.unexpected.length < 20) {
    counts.unexpected.push(`${code}: ${(error as Error)?.stack ?? String(error)}`);
  }
}
