// Conformance, messages: sizes, order, gathering, iteration, flow control and what send() refuses.
import * as assert from 'node:assert/strict';
import { pattern, rejectsWith, sleep, within } from '../helpers.js';
import { forEachTransport } from './suite.js';

forEachTransport('messages', ({ pair }) => {
  it('deliver every size from 0 bytes to maxMessageSize whole, intact and in order', async () => {
    const maxMessageSize = 4 << 20;
    const p = await pair({ maxMessageSize });
    const sizes = [
      0,
      1,
      7,
      8,
      31,
      32,
      33,
      4095,
      4096,
      65535,
      65536,
      65537,
      1 << 20,
      maxMessageSize - 1,
      maxMessageSize,
    ];
    const sent = sizes.map((size, i) => pattern(size, i + 1));
    // Not awaited first: the receiver's window holds one maximal message, so the sends complete as it reads.
    const sends = Promise.all(sent.map((message) => p.client.send(message)));
    for (const expected of sent) assert.deepEqual(new Uint8Array(await p.server.receive()), expected);
    await sends;
    await p.close();
  });

  it('keep their order when many are in flight, in both directions', async () => {
    const p = await pair();
    const count = 5000;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const message = Buffer.alloc(4 + (i % 100));
      message.writeUInt32LE(i, 0);
      sends.push(p.client.send(message), p.server.send(message));
    }
    for (const side of [p.server, p.client]) {
      for (let i = 0; i < count; i++) {
        const message = await side.receive();
        assert.equal(Buffer.from(message.buffer, message.byteOffset, message.length).readUInt32LE(0), i);
        assert.equal(message.length, 4 + (i % 100));
      }
    }
    await Promise.all(sends);
    await p.close();
  });

  it('gather an array of parts into one message without changing a byte', async () => {
    const p = await pair();
    const parts = [pattern(3, 1), new Uint8Array(0), pattern(70000, 2), Buffer.from('tail')];
    const many = Array.from({ length: 40 }, (_, i) => pattern(i * 3, i));
    await p.client.send(parts);
    await p.client.send([]);
    await p.client.send(many);
    const received = await p.server.receive();
    assert.deepEqual(new Uint8Array(received), new Uint8Array(Buffer.concat(parts)));
    assert.equal((await p.server.receive()).length, 0);
    assert.deepEqual(new Uint8Array(await p.server.receive()), new Uint8Array(Buffer.concat(many)));
    await p.close();
  });

  it('can be consumed with for await, which ends when the peer closes', async () => {
    const p = await pair();
    for (let i = 0; i < 10; i++) await p.client.send(Buffer.from([i]));
    await p.client.close();
    const seen: number[] = [];
    for await (const message of p.server) seen.push(message[0] as number);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await p.close();
  });

  it('leave what a for-await loop did not take to receive() once it stopped', async () => {
    const p = await pair();
    for (let i = 0; i < 3; i++) await p.client.send(Buffer.from([i]));
    for await (const message of p.server) {
      assert.equal(message[0], 0);
      break;
    }
    const iterator = p.server[Symbol.asyncIterator]();
    assert.equal(((await iterator.next()).value as Uint8Array)[0], 1);
    await iterator.return?.();
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    assert.equal((await p.server.receive())[0], 2);
    await p.close();
  });

  it('slow a sender down when the receiver does not read (bounded memory), and lose nothing', async () => {
    const maxMessageSize = 256 << 10;
    const p = await pair({ maxMessageSize });
    const count = 64;
    let resolved = 0;
    const sends = Array.from({ length: count }, (_, i) =>
      p.client.send(pattern(maxMessageSize, i)).then(() => resolved++),
    );
    // Wait until the sender is stuck, then check it went no further than the receiver's window allows:
    // maxMessageSize + 32 + 1 MiB of message bytes, 5 of these messages.
    await within(
      20000,
      (async () => {
        while (resolved === 0) await sleep(20);
      })(),
      'the first send',
    );
    let seen = -1;
    while (seen !== resolved) {
      seen = resolved;
      await sleep(500);
    }
    assert.ok(
      resolved >= 1 && resolved <= 5,
      `only a window's worth may be sent ahead, ${resolved} of ${count} were`,
    );
    for (let i = 0; i < count; i++)
      assert.deepEqual(new Uint8Array(await p.server.receive()), pattern(maxMessageSize, i));
    await within(5000, Promise.all(sends), 'sends after the receiver drained');
    await p.close();
  });

  it('flow both ways at once while neither side reads until its own sends completed', async () => {
    const p = await pair();
    const count = 55;
    const batch = (seed: number) => Array.from({ length: count }, (_, i) => pattern(16 << 10, seed + i));
    const [toServer, toClient] = [batch(1000), batch(2000)];
    await within(
      30000,
      Promise.all([
        Promise.all(toServer.map((message) => p.client.send(message))),
        Promise.all(toClient.map((message) => p.server.send(message))),
      ]),
      'sends both ways',
    );
    for (const [side, expected] of [
      [p.server, toServer],
      [p.client, toClient],
    ] as const) {
      for (const message of expected) assert.deepEqual(new Uint8Array(await side.receive()), message);
    }
    await p.close();
  });

  it('reject a message above the peer maxMessageSize with EMSGSIZE, and stay usable', async () => {
    const p = await pair({ maxMessageSize: 1024 });
    assert.equal(p.client.peerMaxMessageSize, 1024);
    await rejectsWith(p.client.send(new Uint8Array(1025)), 'EMSGSIZE');
    await rejectsWith(p.client.send([new Uint8Array(1000), new Uint8Array(25)]), 'EMSGSIZE');
    await p.client.send(new Uint8Array(1024));
    assert.equal((await p.server.receive()).length, 1024);
    await p.close();
  });

  it('send the bytes of any typed array as they are (a Float32Array tensor, a DataView)', async () => {
    const p = await pair();
    const tensor = new Float32Array([1.5, -2, 3.25, 1e-7]);
    await p.client.send(tensor);
    await p.client.send([new Uint16Array([1, 2]), new DataView(new ArrayBuffer(3))]);
    const received = await p.server.receive();
    assert.deepEqual(new Float32Array(new Uint8Array(received).buffer), tensor);
    assert.equal((await p.server.receive()).length, 7);
    await p.close();
  });

  it('reject a send of something that is not bytes with EINVAL', async () => {
    const p = await pair();
    await rejectsWith(p.client.send('text' as unknown as Uint8Array), 'EINVAL');
    await rejectsWith(p.client.send([new Uint8Array(1), 5] as unknown as Uint8Array[]), 'EINVAL');
    await p.client.send(Buffer.from('ok'));
    assert.equal(Buffer.from(await p.server.receive()).toString(), 'ok');
    await p.close();
  });
});
