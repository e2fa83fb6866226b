// A TCP client (and a server) that speak the wire protocol by hand, for tests of what the other side puts on
// the wire.
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { errorCodeFromWire, type FabricErrorCode } from '../src/api/errors.js';
import {
  carriesPlacedPayload,
  decodeHeader,
  type FrameHeader,
  FrameType,
  HEADER_SIZE,
  READ_AHEAD_BYTES,
} from '../src/protocol/frame.js';
import { encodeHello, type Hello } from '../src/protocol/handshake.js';
import { clientHello, sleep, within } from './helpers.js';

/** A raw TCP client that collects everything the server sends until it closes. */
export async function rawClient(
  port: number,
): Promise<{ socket: net.Socket; received: () => Buffer; ended: Promise<void> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, received: () => Buffer.concat(chunks), ended };
}

/** Plays the client side of the handshake by hand; `consumed` is where the server's data frames start. */
export async function handshake(port: number, hello: Partial<Hello> = {}) {
  const client = await rawClient(port);
  const bytes = encodeHello(clientHello(hello));
  client.socket.write(Buffer.concat([rawHeader({ type: FrameType.Hello, length: bytes.length }), bytes]));
  while (client.received().length < HEADER_SIZE + bytes.length) await sleep(2);
  client.socket.write(rawHeader({ type: FrameType.Auth }));
  while (client.received().length < 2 * HEADER_SIZE + bytes.length) await sleep(2);
  const ready = decodeHeader(client.received().subarray(HEADER_SIZE + bytes.length));
  assert.equal(ready.type, FrameType.Ready);
  return { ...client, consumed: 2 * HEADER_SIZE + bytes.length };
}

/** The fields of a raw header; unlike encodeHeader, any value goes (flags, u64 offsets, unused fields). */
export interface RawHeaderFields {
  type: number;
  flags?: number;
  length?: number;
  id?: number;
  aux?: number;
  key?: bigint;
  offset?: bigint;
}

/** A header as bytes, laid out as docs/PROTOCOL.md says, with none of encodeHeader's checks. */
export function rawHeader(fields: RawHeaderFields): Buffer {
  const bytes = Buffer.alloc(HEADER_SIZE);
  bytes.writeUInt8(fields.type, 0);
  bytes.writeUInt8(fields.flags ?? 0, 1);
  bytes.writeUInt32LE(fields.length ?? 0, 4);
  bytes.writeUInt32LE(fields.id ?? 0, 8);
  bytes.writeUInt32LE(fields.aux ?? 0, 12);
  bytes.writeBigUInt64LE(fields.key ?? 0n, 16);
  bytes.writeBigUInt64LE(fields.offset ?? 0n, 24);
  return bytes;
}

/** One frame a side sent: its header, and its payload (without padding). */
export interface RawFrame {
  header: FrameHeader;
  payload: Buffer;
}

/** The complete frames in `bytes` from `at` on; `padded`: Write and ReadResponse carry read-ahead padding. */
export function parseFrames(bytes: Buffer, at = 0, padded = false): RawFrame[] {
  const frames: RawFrame[] = [];
  while (bytes.length - at >= HEADER_SIZE) {
    const header = decodeHeader(bytes.subarray(at));
    const start = at + (padded && carriesPlacedPayload(header.type) ? READ_AHEAD_BYTES : HEADER_SIZE);
    if (bytes.length - start < header.length) break;
    frames.push({ header, payload: bytes.subarray(start, start + header.length) });
    at = start + header.length;
  }
  return frames;
}

/** Waits (2 s at most) until `count` complete frames arrived behind the first `from` bytes, and returns them. */
export async function receiveFrames(
  client: { received: () => Buffer },
  count: number,
  from = 0,
  padded = false,
): Promise<RawFrame[]> {
  const deadline = performance.now() + 2000;
  for (;;) {
    const frames = parseFrames(client.received(), from, padded);
    if (frames.length >= count) return frames.slice(0, count);
    if (performance.now() > deadline) {
      assert.fail(`${frames.length} of ${count} frames arrived: ${frames.map((f) => f.header.type)}`);
    }
    await sleep(2);
  }
}

/**
 * Waits (2 s at most) for the other side to close the connection, and checks that the last thing it sent
 * behind the first `from` bytes is an Error frame for the whole connection (id 0) with `code`; its text.
 */
export async function refusedWith(
  client: { received: () => Buffer; ended: Promise<void> },
  code: FabricErrorCode,
  from = 0,
): Promise<string> {
  await within(2000, client.ended, `the connection closing with ${code}`);
  const frames = parseFrames(client.received(), from);
  const last = frames[frames.length - 1];
  assert.ok(last, 'an Error frame before the close');
  assert.equal(last.header.type, FrameType.Error);
  assert.equal(last.header.id, 0);
  assert.equal(errorCodeFromWire(last.header.aux), code, last.payload.toString());
  return last.payload.toString();
}

/**
 * A TCP server on loopback that speaks by hand: `onSocket` gets each connection and what its client sent so
 * far; `sent()` is all that the (last) client sent, once it closed.
 */
export async function rawServer(
  onSocket: (socket: net.Socket, client: { received: () => Buffer }) => void,
): Promise<{ port: number; sent: () => Promise<Buffer>; close: () => void }> {
  let sent: Promise<Buffer> = Promise.reject(new Error('no client connected'));
  sent.catch(() => {});
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    sent = new Promise((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks))));
    onSocket(socket, { received: () => Buffer.concat(chunks) });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    sent: () => within(2000, sent, 'the client closing'),
    close: () => server.close(),
  };
}
