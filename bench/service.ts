// The server side of every fabric-transport measurement (the bench's child process, `pingpong --listen`).
// A connection's first message is a JSON request naming what the connection is for:
//   {"mode":"echo"}                  every message is sent back as it came
//   {"mode":"sink"}                  messages are dropped; an empty message is answered with an empty one
//   {"mode":"region","bytes":N}      a region of N bytes is registered; its descriptor is the answer, and
//                                    the client writes into it and reads from it until it closes
//   {"mode":"tensor","bytes":N}      N bytes of "device memory"; each call (encodeCall) is answered after the
//                                    tensor was read in and the result written back
import { type Connection, FabricError, type Listener, type Region, register } from '../src/index.js';

export type BenchRequest =
  | { mode: 'echo' }
  | { mode: 'sink' }
  | { mode: 'region'; bytes: number }
  | { mode: 'tensor'; bytes: number };

/** Large enough for a 64 MiB message, the suite's largest by default (and a tensor of up to 1 GiB). */
export const BENCH_MAX_MESSAGE = 64 << 20;
export const BENCH_MAX_REGION = 1 << 30;

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
  if (mode === 'echo' || mode === 'sink') return { mode };
  if (
    (mode === 'region' || mode === 'tensor') &&
    Number.isSafeInteger(bytes) &&
    (bytes as number) > 0 &&
    (bytes as number) <= BENCH_MAX_REGION
  ) {
    return { mode, bytes: bytes as number };
  }
  throw new FabricError('EINVAL', `not a bench request: ${JSON.stringify(request)}`);
}

async function serveConnection(connection: Connection): Promise<void> {
  const request = parseRequest(await connection.receive());
  let region: Region | undefined;
  try {
    switch (request.mode) {
      case 'echo':
        for await (const message of connection) await connection.send(message);
        break;
      case 'sink':
        for await (const message of connection) if (message.length === 0) await connection.send(message);
        break;
      case 'region':
        region = register(new Uint8Array(request.bytes));
        await connection.send(region.descriptor);
        for await (const _ of connection);
        break;
      case 'tensor': {
        const device = register(new Uint8Array(request.bytes));
        region = device;
        for await (const message of connection) {
          const call = decodeCall(message);
          const tensor = device.slice(0, Math.min(call.bytes, device.length));
          await connection.read(tensor, call.tensor);
          await connection.write(tensor, call.result);
          await connection.send(new Uint8Array(1));
        }
        break;
      }
    }
  } finally {
    region?.deregister();
  }
}

/** Serves every connection `listener` accepts until it closes; a failing connection only ends itself. */
export async function serveBench(listener: Listener, onError?: (error: unknown) => void): Promise<void> {
  for await (const connection of listener) {
    serveConnection(connection)
      .catch((error: unknown) => {
        if (!(error instanceof FabricError && error.code === 'ECLOSED')) onError?.(error);
      })
      .finally(() => connection.close());
  }
}
