// The server side of every fabric-transport measurement (the bench's child process, `pingpong --listen`).
// A connection's first message is a JSON request naming what the connection is for:
//   {"mode":"echo"}                  every message is sent back as it came
//   {"mode":"sink"}                  messages are dropped; an empty message is answered with an empty one
//   {"mode":"region","bytes":N}      a region of N bytes is registered; its descriptor follows the answer,
//                                    and the client writes into it and reads from it until it closes
//   {"mode":"tensor","bytes":N}      N bytes of "device memory"; each call (encodeCall) is answered after the
//                                    tensor was read in and the result written back
//   {"mode":"device"}                the remote-tensor example's device server (examples/remote-tensor)
// The server answers {"ok":true}, or {"ok":false,"code":N,"error":"..."} (N: the error code as in Error
// frames) and closes. It is open to the network
// (pingpong --listen), so it bounds what clients can make it hold.

import { serveDeviceClient } from '../examples/remote-tensor/server.js';
import { errorCodeFromWire, errorCodeToWire } from '../src/api/errors.js';
import { type Connection, FabricError, type Listener, type Region, register } from '../src/index.js';
import { within } from './budget.js';

export type BenchRequest =
  | { mode: 'echo' }
  | { mode: 'sink' }
  | { mode: 'region'; bytes: number }
  | { mode: 'tensor'; bytes: number }
  | { mode: 'device' };

/** The largest message the bench sends by default (64 MiB, the largest default size). */
export const BENCH_MAX_MESSAGE = 64 << 20;
/** The largest region or tensor one connection may ask for. */
export const BENCH_MAX_REGION = 1 << 30;
/** Memory all the server's connections together may hold in regions and tensors. */
const MEMORY_LIMIT = 2 ** 31;
const CONNECTION_LIMIT = 32;
/** Device memory one connection of the remote-tensor example may hold. */
const DEVICE_MEMORY = 64 << 20;
/** A client must say what it wants this soon after connecting. */
const REQUEST_TIMEOUT_MS = 10_000;

/** A tensor call: how many bytes to pull from `tensor`, and where the result goes. */
export function encodeCall(bytes: number, tensor: Uint8Array, result: Uint8Array): Uint8Array {
  const call = new Uint8Array(6 + tensor.length + result.length);
  const view = new DataView(call.buffer);
  view.setUint32(0, bytes, true);
  view.setUint16(4, tensor.length, true);
  call.set(tensor, 6);
  call.set(result, 6 + tensor.length);
  return call;
}

function decodeCall(call: Uint8Array): { bytes: number; tensor: Uint8Array; result: Uint8Array } {
  if (call.length < 6) throw new FabricError('EPROTO', 'tensor call shorter than its header');
  const view = new DataView(call.buffer, call.byteOffset, call.byteLength);
  const tensorLength = view.getUint16(4, true);
  return {
    bytes: view.getUint32(0, true),
    tensor: call.subarray(6, 6 + tensorLength),
    result: call.subarray(6 + tensorLength),
  };
}

function parseRequest(message: Uint8Array): BenchRequest {
  let request: unknown;
  try {
    request = JSON.parse(Buffer.from(message).toString('utf8'));
  } catch {
    throw new FabricError('EPROTO', 'the first message must be a JSON bench request');
  }
  const { mode, bytes } = (request ?? {}) as { mode?: unknown; bytes?: unknown };
  if (mode === 'echo' || mode === 'sink' || mode === 'device') return { mode };
  if (
    (mode === 'region' || mode === 'tensor') &&
    Number.isSafeInteger(bytes) &&
    (bytes as number) > 0 &&
    (bytes as number) <= BENCH_MAX_REGION
  ) {
    return { mode, bytes: bytes as number };
  }
  throw new FabricError('EINVAL', `not a bench request: ${JSON.stringify(request)?.slice(0, 200)}`);
}

/** Requests and answers are JSON text. */
export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function firstRequest(connection: Connection): Promise<BenchRequest> {
  return within(REQUEST_TIMEOUT_MS, 'the bench request', connection.receive()).then(parseRequest);
}

/** What the server's connections hold together. */
class ServiceLimits {
  private connections = 0;
  private memory = 0;

  /** Admits one more connection, or says why not. */
  admit(): FabricError | undefined {
    if (this.connections >= CONNECTION_LIMIT) {
      return new FabricError(
        'ECONNREFUSED',
        `the bench server serves at most ${CONNECTION_LIMIT} connections at once`,
      );
    }
    this.connections++;
    return undefined;
  }

  leave(): void {
    this.connections--;
  }

  /** Registers `bytes` of memory within the server's limit; deregister it with release(). */
  allocate(bytes: number): Region {
    if (this.memory + bytes > MEMORY_LIMIT) {
      throw new FabricError(
        'ENOMEM',
        `the bench server holds ${this.memory} bytes already; ${bytes} more pass its limit`,
      );
    }
    const region = register(new Uint8Array(bytes));
    this.memory += bytes;
    return region;
  }

  release(region: Region): void {
    this.memory -= region.length;
    region.deregister();
  }
}

async function serve(connection: Connection, request: BenchRequest, limits: ServiceLimits): Promise<void> {
  const ok = encodeJson({ ok: true });
  switch (request.mode) {
    case 'echo':
      await connection.send(ok);
      for await (const message of connection) await connection.send(message);
      return;
    case 'sink':
      await connection.send(ok);
      for await (const message of connection) if (message.length === 0) await connection.send(message);
      return;
    case 'device':
      await connection.send(ok);
      await serveDeviceClient(connection, DEVICE_MEMORY);
      return;
  }
  const memory = limits.allocate(request.bytes);
  try {
    await connection.send(ok);
    if (request.mode === 'region') {
      await connection.send(memory.descriptor);
      for await (const _ of connection);
      return;
    }
    for await (const message of connection) {
      const call = decodeCall(message);
      const tensor = memory.slice(0, Math.min(call.bytes, memory.length));
      await connection.read(tensor, call.tensor);
      await connection.write(tensor, call.result);
      await connection.send(new Uint8Array(1));
    }
  } finally {
    limits.release(memory);
  }
}

async function serveConnection(connection: Connection, limits: ServiceLimits): Promise<void> {
  const refused = limits.admit();
  try {
    if (refused) throw refused;
    await serve(connection, await firstRequest(connection), limits);
  } catch (error) {
    if (error instanceof FabricError && !connection.closed) {
      await connection
        .send(encodeJson({ ok: false, code: errorCodeToWire(error.code), error: error.message }))
        .catch(() => {});
    }
    throw error;
  } finally {
    if (!refused) limits.leave();
  }
}

/** Serves every connection `listener` accepts until it closes; a failing connection only ends itself. */
export async function serveBench(listener: Listener, onError?: (error: unknown) => void): Promise<void> {
  const limits = new ServiceLimits();
  for await (const connection of listener) {
    serveConnection(connection, limits)
      .catch((error: unknown) => {
        if (!(error instanceof FabricError && error.code === 'ECLOSED')) onError?.(error);
      })
      .finally(() => connection.close());
  }
}

/** The server's answer to a request: resolves when it accepted it, rejects with its reason otherwise. */
export function checkAnswer(answer: Uint8Array): void {
  let parsed: { ok?: unknown; code?: unknown; error?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(answer).toString('utf8'));
  } catch {
    throw new FabricError('EPROTO', 'the peer is not a fabric-transport bench server');
  }
  if (parsed.ok === true) return;
  const code = errorCodeFromWire(typeof parsed.code === 'number' ? parsed.code : 0);
  throw new FabricError(code, `the bench server refused: ${String(parsed.error)}`);
}
