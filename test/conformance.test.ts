// The conformance suite: what every transport must do. It runs against FABRIC_TRANSPORT (default tcp) on
// FABRIC_TEST_HOST (default 127.0.0.1), in the poll mode FABRIC_POLL names (default event; `npm test` runs it in
// each); the Soft-RoCE guest and hosts with RDMA NICs run it unchanged.
import * as assert from 'node:assert/strict';
import { execFile, fork } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nativePart } from '../src/core/native-addon.js';
import { type Connection, connect, listen, RegionSlice, register, stats, transports } from '../src/index.js';
import { ACCESS_READ, ACCESS_WRITE, decodeDescriptor, encodeDescriptor } from '../src/protocol/descriptor.js';
import type { VerbsNative } from '../src/transports/verbs/native.js';
import { openDescriptors } from './descriptors.js';
import {
  atLeast,
  HOST,
  pair,
  pattern,
  RESIDENT_SET_MEASURED,
  rejectsWith,
  sleep,
  TRANSPORT,
  within,
} from './helpers.js';

describe(`conformance: ${TRANSPORT} on ${HOST}, poll mode ${process.env.FABRIC_POLL ?? 'event'}`, () => {
  describe('connections', () => {
    it('connects, reports the transport in use and closes on both sides', async () => {
      const p = await pair();
      assert.equal(p.client.transport, TRANSPORT);
      assert.equal(p.server.transport, TRANSPORT);
      await p.client.close();
      await within(2000, rejectsWith(p.server.receive(), 'ECLOSED'), 'server sees the close');
      assert.equal(p.server.closed, true);
      await p.close();
    });

    it('accepts through async iteration, and ends the iteration on close', async () => {
      const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT });
      const accepted: Connection[] = [];
      const loop = (async () => {
        for await (const connection of listener) accepted.push(connection);
      })();
      const clients = await Promise.all(
        [1, 2, 3].map(() => connect({ host: HOST, port: listener.port, transport: TRANSPORT })),
      );
      while (accepted.length < 3) await sleep(5);
      await listener.close();
      await within(2000, loop, 'listener iteration');
      await Promise.all([...clients, ...accepted].map((connection) => connection.close()));
    });

    it('rejects a pending accept() with ECLOSED when the listener closes', async () => {
      const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT });
      const pending = listener.accept();
      await listener.close();
      await rejectsWith(pending, 'ECLOSED');
      await rejectsWith(listener.accept(), 'ECLOSED');
    });

    it('rejects with ECONNREFUSED when nobody listens', async () => {
      const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT });
      const port = listener.port;
      await listener.close();
      await rejectsWith(connect({ host: HOST, port, transport: TRANSPORT }), 'ECONNREFUSED');
    });

    it('close() is idempotent, never hangs, and later calls reject with ECLOSED', async () => {
      const p = await pair();
      const region = register(new Uint8Array(16));
      await within(3000, Promise.all([p.client.close(), p.client.close()]), 'double close');
      await within(3000, p.client.close(), 'third close');
      await rejectsWith(p.client.send(new Uint8Array(1)), 'ECLOSED');
      await rejectsWith(p.client.receive(), 'ECLOSED');
      await rejectsWith(p.client.write(region, region.descriptor), 'ECLOSED');
      await rejectsWith(p.client.read(region, region.descriptor), 'ECLOSED');
      await p.close();
    });

    it('rejects every pending operation when the connection closes locally', async () => {
      const p = await pair({ maxMessageSize: 1024, maxBufferedBytes: 64 << 10 });
      const region = register(new Uint8Array(4096));
      const receive = p.client.receive();
      // Sends beyond the peer's window wait for credit, and the one-sided operations queue behind them.
      const sends = Array.from({ length: 1000 }, () => p.client.send(new Uint8Array(1024)));
      const write = p.client.write(region, region.descriptor);
      const read = p.client.read(region, region.descriptor);
      const close = p.client.close();
      await rejectsWith(receive, 'ECLOSED');
      const outcomes = await Promise.allSettled(sends);
      const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
      assert.ok(rejected.length > 0, 'sends beyond the window were pending');
      for (const outcome of rejected) assert.equal((outcome.reason as { code?: string }).code, 'ECLOSED');
      await rejectsWith(write, 'ECLOSED');
      await rejectsWith(read, 'ECLOSED');
      await within(3000, close, 'close');
      region.deregister();
      await p.close();
    });

    it('rejects pending operations within a second when the peer process is killed', async function () {
      this.timeout(atLeast(this.timeout(), 30000));
      const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT });
      const child = fork(join(__dirname, 'fixtures', 'peer.js'), [HOST, String(listener.port), TRANSPORT], {
        stdio: 'inherit',
      });
      try {
        const connection = await within(20000, listener.accept(), 'child connection');
        const descriptor = await connection.receive();
        const local = register(new Uint8Array(1 << 20));
        await connection.send(Buffer.from('freeze'));
        assert.equal(Buffer.from(await connection.receive()).toString(), 'frozen');
        const read = connection.read(local, descriptor);
        const receive = connection.receive();
        read.catch(() => {});
        receive.catch(() => {});
        await sleep(100);
        const killedAt = performance.now();
        child.kill('SIGKILL');
        const [readError, receiveError] = await Promise.all([
          within(
            1000,
            read.then(
              () => undefined,
              (error: unknown) => error,
            ),
            'pending read',
          ),
          within(
            1000,
            receive.then(
              () => undefined,
              (error: unknown) => error,
            ),
            'pending receive',
          ),
        ]);
        assert.ok(performance.now() - killedAt < 1000);
        for (const error of [readError, receiveError]) {
          assert.ok(
            ['ECONNRESET', 'ECLOSED'].includes((error as { code?: string })?.code ?? ''),
            String(error),
          );
        }
        await rejectsWith(connection.send(new Uint8Array(1)), 'ECLOSED');
        await rejectsWith(connection.read(local, descriptor), 'ECLOSED');
        await connection.close();
      } finally {
        child.kill('SIGKILL');
        await listener.close();
      }
    });
  });

  describe('messages', () => {
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

  describe('one-sided operations', () => {
    it('write and read land intact at any offset', async () => {
      const p = await pair();
      const remote = register(new Uint8Array(1 << 20));
      const local = register(pattern(1 << 20, 7));
      await p.client.write(local.slice(1000, 5000), remote.descriptor, 300);
      assert.deepEqual(remote.bytes.subarray(300, 5300), local.bytes.subarray(1000, 6000));
      assert.equal(remote.bytes[299], 0);
      assert.equal(remote.bytes[5300], 0);
      remote.bytes.set(pattern(100, 9), 700000);
      const back = register(new Uint8Array(100));
      await p.client.read(back, remote.descriptor, 700000);
      assert.deepEqual(back.bytes, pattern(100, 9));
      await p.client.write(local.slice(0, 0), remote.descriptor, 1 << 20);
      await p.close();
    });

    it('work in both directions on regions passed as descriptors in messages', async () => {
      const p = await pair();
      const serverRegion = register(new Float32Array(1024));
      await p.server.send(serverRegion.descriptor);
      const descriptor = await p.client.receive();
      const tensor = register(new Float32Array(1024).map((_, i) => i * 0.5));
      await p.client.write(tensor, descriptor);
      assert.deepEqual(new Float32Array(serverRegion.bytes.buffer), new Float32Array(tensor.bytes.buffer));
      await p.close();
    });

    it('move 1 GiB through 64 MiB regions needing at most 64 MiB beyond them', async function () {
      this.timeout(atLeast(this.timeout(), 120000));
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(__dirname, 'fixtures', 'footprint.js'), HOST, TRANSPORT],
        { env: process.env },
      );
      const footprint = JSON.parse(stdout) as { baseline: number; peak: number; intact: boolean };
      assert.ok(footprint.intact, 'data intact');
      const beyond = footprint.peak - footprint.baseline;
      if (RESIDENT_SET_MEASURED) {
        assert.ok(beyond <= 64 << 20, `${(beyond / 2 ** 20).toFixed(1)} MiB beyond the regions`);
      }
    });

    it('move 64 MiB each way intact with zero bytes copied in user space', async function () {
      this.timeout(atLeast(this.timeout(), 60000));
      const size = 64 << 20;
      const p = await pair();
      const remote = register(new Uint8Array(size));
      const local = register(pattern(size, 3));
      const before = stats();
      await p.client.write(local, remote.descriptor);
      assert.ok(Buffer.compare(remote.bytes, local.bytes) === 0, 'written data intact');
      remote.bytes.set(pattern(size, 4));
      await p.client.read(local, remote.descriptor);
      assert.ok(Buffer.compare(remote.bytes, local.bytes) === 0, 'read data intact');
      const after = stats();
      assert.equal(after.copiedBytes - before.copiedBytes, 0);
      // Both payloads (the write at the owner, the read's answer at the initiator) landed in place.
      assert.ok(
        after.placedBytes - before.placedBytes >= 2 * size,
        `${after.placedBytes - before.placedBytes} bytes placed`,
      );
      remote.deregister();
      local.deregister();
      await p.close();
    });

    it('are checked locally: ERANGE past the end, EACCES against the access, before anything is sent', async () => {
      const p = await pair();
      const readOnly = register(new Uint8Array(4096), { access: 'read' });
      const writeOnly = register(new Uint8Array(4096), { access: 'write' });
      const local = register(new Uint8Array(8192));
      const sentBefore = stats().bytesSent;
      await rejectsWith(p.client.write(local.slice(0, 4097), writeOnly.descriptor, 0), 'ERANGE');
      await rejectsWith(p.client.write(local.slice(0, 1), writeOnly.descriptor, 4096), 'ERANGE');
      await rejectsWith(p.client.read(local.slice(0, 100), readOnly.descriptor, 4000), 'ERANGE');
      await rejectsWith(p.client.write(local.slice(0, 1), readOnly.descriptor, 0), 'EACCES');
      await rejectsWith(p.client.read(local.slice(0, 1), writeOnly.descriptor, 0), 'EACCES');
      assert.equal(stats().bytesSent, sentBefore);
      await p.client.write(local.slice(0, 4096), writeOnly.descriptor, 0);
      await p.client.read(local.slice(0, 4096), readOnly.descriptor, 0);
      await p.close();
    });

    it('are checked by the owner too: a forged descriptor gets ERANGE or EACCES, and nothing is touched', async () => {
      const p = await pair();
      const readOnly = register(new Uint8Array(4096), { access: 'read' });
      const { key } = decodeDescriptor(readOnly.descriptor);
      const forged = encodeDescriptor({ key, length: 1 << 20, access: ACCESS_READ | ACCESS_WRITE });
      const local = register(pattern(8192, 3));
      await rejectsWith(p.client.read(local.slice(0, 100), forged, 4000), 'ERANGE');
      await rejectsWith(p.client.write(local.slice(0, 10), forged, 0), 'EACCES');
      assert.ok(readOnly.bytes.every((byte) => byte === 0));
      await p.client.read(local.slice(0, 4096), readOnly.descriptor, 0);
      await p.close();
    });

    it('reject bad arguments with EINVAL', async () => {
      const p = await pair();
      const region = register(new Uint8Array(64));
      await rejectsWith(p.client.write(region, new Uint8Array(5)), 'EINVAL');
      await rejectsWith(
        p.client.write(
          region,
          region.descriptor.map((b, i) => (i === 0 ? 99 : b)),
        ),
        'EINVAL',
      );
      await rejectsWith(p.client.write(region, region.descriptor, -1), 'EINVAL');
      await rejectsWith(p.client.write(region, region.descriptor, 1.5), 'EINVAL');
      await rejectsWith(p.client.write(new Uint8Array(4) as never, region.descriptor), 'EINVAL');
      assert.throws(() => new RegionSlice(region, 60, 5), /passes the end/);
      assert.throws(() => region.slice(-1, 2), /non-negative/);
      const gone = register(new Uint8Array(64));
      gone.deregister();
      await rejectsWith(p.client.write(gone, region.descriptor), 'EINVAL');
      await p.close();
    });

    it('get EACCES from the owner for a deregistered region, and the connection stays usable', async () => {
      const p = await pair();
      const remote = register(new Uint8Array(4096));
      const local = register(pattern(4096, 5));
      const descriptor = remote.descriptor;
      remote.deregister();
      remote.deregister();
      await rejectsWith(p.client.write(local, descriptor), 'EACCES');
      await rejectsWith(p.client.read(local, descriptor), 'EACCES');
      await rejectsWith(p.client.write(local.slice(0, 0), descriptor), 'EACCES');
      const live = register(new Uint8Array(4096));
      await p.client.write(local, live.descriptor);
      assert.deepEqual(live.bytes, local.bytes);
      await p.client.send(Buffer.from('still here'));
      assert.equal(Buffer.from(await p.server.receive()).toString(), 'still here');
      await p.close();
    });

    it('get EACCES for a region deregistered after use, once the owner said so in a message', async () => {
      const p = await pair();
      const remote = register(new Uint8Array(4096));
      const local = register(pattern(4096, 6));
      await p.client.write(local, remote.descriptor);
      await p.client.read(local, remote.descriptor);
      remote.deregister();
      await p.server.send(Buffer.from('deregistered'));
      await p.client.receive();
      await rejectsWith(p.client.write(local, remote.descriptor), 'EACCES');
      await rejectsWith(p.client.read(local, remote.descriptor), 'EACCES');
      await p.client.send(Buffer.from('still here'));
      assert.equal(Buffer.from(await p.server.receive()).toString(), 'still here');
      await p.close();
    });

    it('honour peers: a leaked descriptor used from another connection gets EACCES', async () => {
      const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT });
      const [alice, aliceServer] = await Promise.all([
        connect({ host: HOST, port: listener.port, transport: TRANSPORT }),
        listener.accept(),
      ]);
      const [mallory, malloryServer] = await Promise.all([
        connect({ host: HOST, port: listener.port, transport: TRANSPORT }),
        listener.accept(),
      ]);
      const alicesMemory = register(new Uint8Array(1024), { peers: [aliceServer] });
      const local = register(pattern(1024, 11));
      await rejectsWith(mallory.write(local, alicesMemory.descriptor), 'EACCES');
      await rejectsWith(mallory.read(local, alicesMemory.descriptor), 'EACCES');
      assert.equal(alicesMemory.bytes[0], 0);
      await alice.write(local, alicesMemory.descriptor);
      assert.deepEqual(alicesMemory.bytes, local.bytes);
      await Promise.all([alice, aliceServer, mallory, malloryServer].map((c) => c.close()));
      await listener.close();
    });

    it('leave in call order: a message sent right after a write (not awaited) finds the data there', async () => {
      const p = await pair();
      const target = register(new Uint8Array(64 << 10));
      await p.server.send(target.descriptor);
      const descriptor = await p.client.receive();
      const source = register(pattern(64 << 10, 21));
      for (let round = 0; round < 5; round++) {
        source.bytes[0] = round;
        const write = p.client.write(source, descriptor);
        await p.client.send(Buffer.from([round]));
        assert.equal((await p.server.receive())[0], round);
        assert.equal(target.bytes[0], round, 'the write landed before the message that followed it');
        assert.deepEqual(target.bytes.subarray(1), source.bytes.subarray(1));
        await write;
      }
      await p.close();
    });

    it('complete while both sides hold unread messages', async () => {
      const p = await pair();
      const regions = [register(new Uint8Array(4096)), register(new Uint8Array(4096))] as const;
      await p.server.send(regions[0].descriptor);
      await p.client.send(regions[1].descriptor);
      const [serverDescriptor, clientDescriptor] = await Promise.all([
        p.client.receive(),
        p.server.receive(),
      ]);
      // Each side hands over 50 messages the other does not read yet: protocol answers must still flow.
      const count = 50;
      await Promise.all(
        Array.from({ length: count }, (_, i) => [
          p.client.send(pattern(100, i)),
          p.server.send(pattern(100, i)),
        ]).flat(),
      );
      const local = register(pattern(4096, 31));
      const back = [register(new Uint8Array(4096)), register(new Uint8Array(4096))] as const;
      await within(
        20000,
        Promise.all([
          p.client.write(local, serverDescriptor),
          p.server.read(back[0], clientDescriptor),
          p.client.read(back[1], serverDescriptor),
        ]),
        'one-sided operations beside unread messages',
      );
      assert.deepEqual(regions[0].bytes, local.bytes);
      for (let i = 0; i < count; i++) {
        assert.deepEqual(new Uint8Array(await p.server.receive()), pattern(100, i));
        assert.deepEqual(new Uint8Array(await p.client.receive()), pattern(100, i));
      }
      await p.close();
    });

    it('many concurrent operations complete, each with its own result', async () => {
      const p = await pair();
      const remote = register(new Uint8Array(256 * 1024));
      const ops: Promise<void>[] = [];
      const locals = Array.from({ length: 256 }, (_, i) => register(pattern(1024, i + 1)));
      for (let i = 0; i < 256; i++) ops.push(p.client.write(locals[i] as never, remote.descriptor, i * 1024));
      const missing = register(new Uint8Array(8));
      missing.deregister();
      const refused = rejectsWith(p.client.write(register(new Uint8Array(8)), missing.descriptor), 'EACCES');
      await Promise.all(ops);
      await refused;
      for (let i = 0; i < 256; i++)
        assert.deepEqual(remote.bytes.subarray(i * 1024, (i + 1) * 1024), pattern(1024, i + 1));
      await p.close();
    });
  });

  describe('limits', () => {
    it('refuse a client beyond maxConnections with EBUSY, and admit one again once a connection closes', async () => {
      const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT, maxConnections: 2 });
      const dial = () => connect({ host: HOST, port: listener.port, transport: TRANSPORT });
      const [first, second] = [await dial(), await dial()];
      const accepted = [await listener.accept(), await listener.accept()];
      const refused = await rejectsWith(dial(), 'EBUSY');
      assert.match(refused.message, /maximum of 2 connections/);
      await second.send(Buffer.from('still served'));
      assert.equal(Buffer.from(await (accepted[1] as Connection).receive()).toString(), 'still served');
      await first.close();
      await within(
        2000,
        rejectsWith((accepted[0] as Connection).receive(), 'ECLOSED'),
        'server sees the close',
      );
      const third = await dial();
      const thirdServer = await listener.accept();
      await third.send(Buffer.from('admitted'));
      assert.equal(Buffer.from(await thirdServer.receive()).toString(), 'admitted');
      await Promise.all([second, third, thirdServer, ...accepted].map((c) => c.close()));
      await listener.close();
    });

    it('reject an operation beyond maxInFlight with ENOBUFS, and the connection stays usable', async () => {
      const p = await pair({}, { maxInFlight: 4 });
      const remote = register(new Uint8Array(4096));
      const local = register(pattern(4096, 3));
      const inFlight = Array.from({ length: 4 }, () => p.client.write(local, remote.descriptor));
      await rejectsWith(p.client.read(local, remote.descriptor), 'ENOBUFS');
      await Promise.all(inFlight);
      await p.client.read(local, remote.descriptor);
      await p.client.send(Buffer.from('after'));
      assert.equal(Buffer.from(await p.server.receive()).toString(), 'after');
      await p.close();
    });

    it('hold at most maxBufferedBytes of messages for a slow reader; the rest arrive intact, in order', async () => {
      const size = 4096;
      const p = await pair({ maxMessageSize: size, maxBufferedBytes: 4 * size });
      let settled = 0;
      const sends = Array.from({ length: 40 }, (_, i) =>
        p.client.send(pattern(size, i)).then(() => settled++),
      );
      await sleep(200);
      assert.ok(settled < 40, `the reader read nothing, yet all ${settled} sends went through`);
      for (let i = 0; i < 40; i++)
        assert.deepEqual(new Uint8Array(await p.server.receive()), pattern(size, i));
      await Promise.all(sends);
      await p.close();
    });

    it('reject maxBufferedBytes smaller than one message with EINVAL', async () => {
      await rejectsWith(
        listen({ host: HOST, port: 0, transport: TRANSPORT, maxMessageSize: 4096, maxBufferedBytes: 4096 }),
        'EINVAL',
      );
    });
  });

  describe('selection', () => {
    for (const info of transports().filter((candidate) => !candidate.available)) {
      it(`forcing ${info.kind}, unavailable here, rejects with ENODEV and the reason`, async () => {
        const error = await rejectsWith(connect({ host: HOST, port: 1, transport: info.kind }), 'ENODEV');
        assert.ok(error.message.includes(info.reason as string));
        await rejectsWith(listen({ host: HOST, port: 0, transport: info.kind }), 'ENODEV');
      });
    }

    it('rejects invalid options and environment values with EINVAL naming them', async () => {
      const saved = process.env.FABRIC_POLL;
      process.env.FABRIC_POLL = 'fast';
      try {
        const error = await rejectsWith(connect({ host: HOST, port: 1 }), 'EINVAL');
        assert.match(error.message, /FABRIC_POLL=fast/);
        assert.match(error.message, /event, spin, hybrid/);
        // an explicit option beats the variable
        const listener = await listen({ host: HOST, port: 0, pollMode: 'event', transport: TRANSPORT });
        await listener.close();
      } finally {
        if (saved === undefined) delete process.env.FABRIC_POLL;
        else process.env.FABRIC_POLL = saved;
      }
      await rejectsWith(connect({ host: HOST, port: 0 }), 'EINVAL');
      await rejectsWith(connect({ host: '', port: 5 }), 'EINVAL');
      await rejectsWith(listen({ maxMessageSize: 0 }), 'EINVAL');
    });
  });

  describe('tokens', () => {
    it('connect when both sides hold the same token', async () => {
      const p = await pair({ token: 'correct horse' });
      await p.client.send(Buffer.from('hi'));
      assert.equal(Buffer.from(await p.server.receive()).toString(), 'hi');
      await p.close();
    });

    for (const [name, clientToken] of [
      ['a wrong token', 'wrong'],
      ['no token', undefined],
    ] as const) {
      it(`reject a client with ${name} with EACCES; the server keeps serving`, async () => {
        const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT, token: 'secret' });
        const accepted = listener.accept();
        const options = clientToken === undefined ? {} : { token: clientToken };
        await rejectsWith(
          connect({ host: HOST, port: listener.port, transport: TRANSPORT, ...options }),
          'EACCES',
        );
        const good = await connect({
          host: HOST,
          port: listener.port,
          transport: TRANSPORT,
          token: 'secret',
        });
        const server = await accepted;
        await good.send(Buffer.from('ok'));
        assert.equal(Buffer.from(await server.receive()).toString(), 'ok');
        await Promise.all([good.close(), server.close(), listener.close()]);
      });
    }

    it('reject a server without the token the client expects with EACCES', async () => {
      const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT });
      await rejectsWith(
        connect({ host: HOST, port: listener.port, transport: TRANSPORT, token: 'secret' }),
        'EACCES',
      );
      await listener.close();
    });
  });

  it('frees what it holds: many connect/close cycles leave no open handles', async function () {
    this.timeout(atLeast(this.timeout(), 60000));
    const listener = await listen({ host: HOST, port: 0, transport: TRANSPORT });
    // TCP sockets, and the RDMA-CM ids (each with its queue pair, CQ and channel) the addon holds.
    const sockets = () => {
      const addon = nativePart<VerbsNative>();
      const endpoints = typeof addon === 'string' ? 0 : (addon.status().endpoints ?? 0);
      return process.getActiveResourcesInfo().filter((kind) => kind.startsWith('TCP')).length + endpoints;
    };
    const handlesBefore = sockets();
    const descriptorsBefore = openDescriptors();
    for (let i = 0; i < 50; i++) {
      const [client, server] = await Promise.all([
        connect({ host: HOST, port: listener.port, transport: TRANSPORT }),
        listener.accept(),
      ]);
      await client.send(new Uint8Array(10));
      await server.receive();
      await Promise.all([client.close(), server.close()]);
    }
    await sleep(50);
    const handlesAfter = sockets();
    assert.ok(handlesAfter <= handlesBefore, `handles: ${handlesBefore} before, ${handlesAfter} after`);
    assert.ok(
      openDescriptors() <= descriptorsBefore,
      `descriptors: ${descriptorsBefore} before, ${openDescriptors()} after`,
    );
    await listener.close();
  });

  it('frees what it holds: many register/use/deregister cycles give back memory and descriptors', async function () {
    this.timeout(atLeast(this.timeout(), 60000));
    const p = await pair();
    const source = register(pattern(4096, 5));
    const cycle = async (bytes: number) => {
      const region = register(new Uint8Array(bytes));
      await p.server.send(region.descriptor);
      await p.client.write(source, await p.client.receive(), bytes - source.length);
      assert.deepEqual(region.bytes.subarray(bytes - source.length), source.bytes);
      region.deregister();
      // Over RDMA the revocation reaches the peer in order with what follows, as a message does.
      await p.server.send(Buffer.from('deregistered'));
      await p.client.receive();
      await rejectsWith(p.client.read(source, region.descriptor), 'EACCES');
    };
    await cycle(8 << 20);
    const descriptorsBefore = openDescriptors();
    const residentBefore = process.memoryUsage().rss;
    let peakGrowth = 0;
    for (let i = 0; i < 64; i++) {
      await cycle(8 << 20);
      peakGrowth = Math.max(peakGrowth, process.memoryUsage().rss - residentBefore);
    }
    // 512 MiB went through registration; what stays is what the garbage collector has not reached yet.
    if (RESIDENT_SET_MEASURED)
      assert.ok(peakGrowth < 256 << 20, `resident set grew by ${peakGrowth >> 20} MiB`);
    assert.ok(
      openDescriptors() <= descriptorsBefore,
      `descriptors: ${descriptorsBefore} before, ${openDescriptors()} after`,
    );
    await p.close();
  });
});
