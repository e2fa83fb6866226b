// Beyond the kernel's socket buffers: once the kernel takes only part of a frame, or none, node:net queues the
// rest and writes it later, after the connection has encoded the next frames' headers. Every byte node:net
// queues must be its own (the header buffer is reused frame after frame), so what a reader that is far behind
// finally reads is every frame intact and in order.
import * as assert from 'node:assert/strict';
import { connect, listen, register } from '../../../src/index.js';
import type { DirectSocket } from '../../../src/transports/tcp/direct-socket.js';
import { pattern, within } from '../../helpers.js';

const QUEUED_BYTES = 24 << 20;

describe('tcp: frames queued beyond the kernel buffers', () => {
  for (const pollMode of ['event', 'spin'] as const) {
    it(`arrive intact and in order once the reader catches up (${pollMode})`, async () => {
      // A window far larger than the kernel buffers, so that credit never stops the sender: node:net does.
      const options = { transport: 'tcp', pollMode, maxBufferedBytes: 2 * QUEUED_BYTES } as const;
      const listener = await listen({ port: 0, ...options });
      const [client, server] = await Promise.all([
        connect({ host: '127.0.0.1', port: listener.port, ...options }),
        listener.accept(),
      ]);
      const region = register(new Uint8Array(64 << 10));
      await client.send(region.descriptor);
      const descriptor = await server.receive();
      const source = register(pattern(64 << 10, 99));

      // Sizes from 0 bytes up, so the kernel's cut falls in headers, padding and payloads alike.
      const sent: Uint8Array[] = [];
      for (let bytes = 0, i = 0; bytes < QUEUED_BYTES; i++) {
        const message = pattern((i * 7919) % 40000, i);
        sent.push(message);
        bytes += message.length + 32;
      }
      // Issued in one go, without a turn of the event loop: the reader cannot drain the kernel meanwhile.
      const sends: Promise<void>[] = [];
      for (const [i, message] of sent.entries()) {
        if (i % 50 === 25) sends.push(server.write(source, descriptor));
        sends.push(server.send(message));
      }
      const allSent = Promise.all(sends);
      allSent.catch(() => {}); // awaited below, after the reads: a failure then is the test's, not unhandled
      for (const [i, expected] of sent.entries()) {
        const received = await within(10000, client.receive(), `message ${i}`);
        assert.deepEqual(new Uint8Array(received), expected, `message ${i} of ${sent.length}`);
      }
      await within(10000, allSent, 'the sends');
      assert.deepEqual(region.bytes, source.bytes);
      await Promise.all([client.close(), server.close(), listener.close()]);
    });
  }
});

describe('tcp: frames the kernel takes in part', () => {
  // The kernel stopping at every possible place is rare on loopback, so here it is made to: each direct write
  // takes only its first `cut` bytes (inside the header, the padding or the payload), node:net the rest.
  for (const cut of [1, 5, 31, 32, 33, 100, 255, 256, 300]) {
    it(`deliver every frame intact when the kernel takes ${cut} bytes of each`, async () => {
      const listener = await listen({ port: 0, transport: 'tcp' });
      const [client, server] = await Promise.all([
        connect({ host: '127.0.0.1', port: listener.port, transport: 'tcp' }),
        listener.accept(),
      ]);
      const region = register(new Uint8Array(4096));
      await server.send(region.descriptor);
      const descriptor = await client.receive();
      const direct = (client as unknown as { direct: DirectSocket }).direct;
      const write = direct.write.bind(direct);
      direct.write = (parts) => {
        const taken: Uint8Array[] = [];
        for (let left = cut, i = 0; left > 0 && i < parts.length; i++) {
          const part = parts[i] as Uint8Array;
          taken.push(part.subarray(0, Math.min(left, part.length)));
          left -= Math.min(left, part.length);
        }
        return write(taken);
      };
      const messages = [0, 3, 40, 300, 5000].map((size, i) => pattern(size, i));
      const source = register(pattern(4096, 9));
      const done: Promise<void>[] = [];
      for (const message of messages) {
        done.push(client.write(source, descriptor), client.send(message));
      }
      for (const [i, expected] of messages.entries()) {
        assert.deepEqual(new Uint8Array(await within(5000, server.receive(), `message ${i}`)), expected);
      }
      await within(5000, Promise.all(done), 'the writes and sends');
      assert.deepEqual(region.bytes, source.bytes);
      await Promise.all([client.close(), server.close(), listener.close()]);
    });
  }
});
