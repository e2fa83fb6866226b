import * as assert from 'node:assert/strict';
import type { TransportOptions } from '../src/api/options.js';
import {
  type Connection,
  connect,
  FabricError,
  type FabricErrorCode,
  type Listener,
  listen,
  type TransportKind,
  transports,
} from '../src/index.js';
import { type Hello, newNonce } from '../src/protocol/handshake.js';

/**
 * The transports the tests run on: every one registered and usable on this host (`transports()`, available),
 * or only FABRIC_TRANSPORT's kind where that variable names one ('auto' or unset: all usable). A named kind
 * that is unknown or not usable here fails the run rather than leaving the suite empty.
 */
export function usableTransports(): TransportKind[] {
  const infos = transports();
  const named = process.env.FABRIC_TRANSPORT ?? 'auto';
  if (named === 'auto') return infos.filter((info) => info.available).map((info) => info.kind);
  const info = infos.find((candidate) => candidate.kind === named);
  if (info === undefined) {
    throw new Error(`FABRIC_TRANSPORT=${named} names no transport (${infos.map((i) => i.kind).join(', ')})`);
  }
  if (!info.available) throw new Error(`FABRIC_TRANSPORT=${named} cannot be used here: ${info.reason}`);
  return [info.kind];
}

/** Address both ends use: loopback, or the RDMA device's address (FABRIC_TEST_HOST) in the Soft-RoCE guest. */
export const HOST = process.env.FABRIC_TEST_HOST ?? '127.0.0.1';

/**
 * Whether bounds on the resident set measure the library: not under AddressSanitizer (the sanitized addon with
 * libasan preloaded, test/sanitizers/run.sh), whose allocator quarantines freed memory and maps shadow memory
 * beside every allocation. Those tests still move and check their data there.
 */
export const RESIDENT_SET_MEASURED = !/libasan/.test(process.env.LD_PRELOAD ?? '');

export interface Pair {
  listener: Listener;
  client: Connection;
  server: Connection;
}

/** A listener on HOST with one connection to it, over `options.transport`; `close()` tears all of it down. */
export async function pair(
  options: TransportOptions & { transport: TransportKind },
  clientOptions: TransportOptions = {},
): Promise<Pair & { close(): Promise<void> }> {
  const listener = await listen({ host: HOST, port: 0, ...options });
  const [client, server] = await Promise.all([
    connect({ host: HOST, port: listener.port, ...options, ...clientOptions }),
    listener.accept(),
  ]);
  return {
    listener,
    client,
    server,
    close: async () => {
      await Promise.all([client.close(), server.close(), listener.close()]);
    },
  };
}

/** Asserts that `promise` rejects with a FabricError of `code`, and returns it. */
export async function rejectsWith(promise: Promise<unknown>, code: FabricErrorCode): Promise<FabricError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FabricError, `expected a FabricError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    assert.ok(error.message.length > 10, 'the message says what happened');
    return error;
  }
  assert.fail(`expected a rejection with ${code}`);
}

/** Deterministic bytes for size `n`, different per `seed`. */
export function pattern(n: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/**
 * A test's time limit: `ms`, or the run's own when that is longer (the Soft-RoCE guest emulates its CPU and
 * runs mocha with a larger --timeout).
 */
export function atLeast(current: number, ms: number): number {
  return Math.max(current, ms);
}

/** Resolves after `ms`; for bounded waits in tests that check something did NOT happen. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles `promise` or fails the test after `ms`: the suite never hangs on a bug. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A valid client HELLO for tests that speak the protocol by hand. */
export function clientHello(overrides: Partial<Hello> = {}): Hello {
  return {
    version: 1,
    capabilities: 0,
    maxMessageSize: 1 << 20,
    receiveWindow: 2 << 20,
    token: false,
    nonce: newNonce(),
    ...overrides,
  };
}
