// A TCP client that speaks the wire protocol by hand, for tests of what the server puts on the wire.
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { decodeHeader, encodeHeader, FrameType, HEADER_SIZE } from '../src/protocol/frame.js';
import { encodeHello, type Hello } from '../src/protocol/handshake.js';
import { clientHello, sleep } from './helpers.js';

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
  client.socket.write(Buffer.concat([encodeHeader({ type: FrameType.Hello, length: bytes.length }), bytes]));
  while (client.received().length < HEADER_SIZE + bytes.length) await sleep(2);
  client.socket.write(encodeHeader({ type: FrameType.Auth }));
  while (client.received().length < 2 * HEADER_SIZE + bytes.length) await sleep(2);
  const ready = decodeHeader(client.received().subarray(HEADER_SIZE + bytes.length));
  assert.equal(ready.type, FrameType.Ready);
  return { ...client, consumed: 2 * HEADER_SIZE + bytes.length };
}
