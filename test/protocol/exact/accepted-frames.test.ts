// docs/PROTOCOL.md, exactly: which frames a side accepts when (pipelined behind Auth, before Ready), duplicate
// operation ids, and more than maxInFlight in flight.
import * as assert from 'node:assert/strict';
import { errorCodeToWire } from '../../../src/api/errors.js';
import { connect } from '../../../src/index.js';
import { FrameType, HEADER_SIZE, HELLO_SIZE, READ_AHEAD_BYTES } from '../../../src/protocol/frame.js';
import { CAPABILITY_READ_AHEAD } from '../../../src/protocol/handshake.js';
import { pattern, rejectsWith, sleep } from '../../helpers.js';
import {
  handshake,
  parseFrames,
  rawClient,
  rawHeader,
  rawServer,
  receiveFrames,
  refusedWith,
} from '../../raw-tcp-peer.js';

import { frame, helloFrame, region, sendHello, served } from './peers.js';

describe('protocol: docs/PROTOCOL.md, exactly', () => {
  describe('6. what a side accepts when: pipelined data after Auth, duplicate ids, more than maxInFlight', () => {
    const s = served();

    for (const readAhead of [false, true]) {
      it(`the server takes data frames pipelined right behind Auth${readAhead ? ', padded for read-ahead' : ''}`, async () => {
        const { region: r, key } = region(new Uint8Array(32));
        const peer = await rawClient(s.listener.port);
        const data = Buffer.from(pattern(16, 4));
        const padding = Buffer.alloc(readAhead ? READ_AHEAD_BYTES - HEADER_SIZE : 0);
        // Everything at once, before the server's Hello: without a token, Auth needs nothing from it.
        peer.socket.write(
          Buffer.concat([
            helloFrame({ capabilities: readAhead ? CAPABILITY_READ_AHEAD : 0 }),
            frame({ type: FrameType.Auth }),
            frame({ type: FrameType.Message }, Buffer.from('pipelined')),
            rawHeader({ type: FrameType.Write, id: 1, key, offset: 4n, length: data.length }),
            padding,
            data,
            rawHeader({ type: FrameType.ReadRequest, id: 2, key, offset: 4n, aux: 16 }),
          ]),
        );
        const server = await s.accept();
        assert.equal(Buffer.from(await server.receive()).toString(), 'pipelined');
        const answers = await receiveFrames(peer, 4, 0, readAhead);
        assert.deepEqual(
          answers.map((f) => f.header.type),
          [FrameType.Hello, FrameType.Ready, FrameType.WriteAck, FrameType.ReadResponse],
        );
        assert.deepEqual(answers[3]?.payload, data);
        if (readAhead) {
          // the ReadResponse's padding: zeros, between its header and its payload
          const at = 3 * HEADER_SIZE + HELLO_SIZE + HEADER_SIZE;
          assert.ok(
            peer
              .received()
              .subarray(at, at + padding.length)
              .every((byte) => byte === 0),
          );
        }
        assert.deepEqual(Buffer.from(r.bytes.subarray(4, 20)), data);
        r.deregister();
        peer.socket.destroy();
      });
    }

    it('the server refuses a data frame between its Hello and Auth, unread', async () => {
      const { region: r, key } = region(new Uint8Array(16));
      const peer = await rawClient(s.listener.port);
      await sendHello(peer, helloFrame());
      peer.socket.write(frame({ type: FrameType.Write, id: 1, key }, Buffer.alloc(16, 1)));
      assert.match(
        await refusedWith(peer, 'EPROTO', HEADER_SIZE + HELLO_SIZE),
        /before the handshake completed/,
      );
      assert.ok(r.bytes.every((byte) => byte === 0));
      r.deregister();
    });

    it('a client refuses a data frame before Ready', async () => {
      const server = await rawServer((socket) =>
        socket.write(
          Buffer.concat([helloFrame(), frame({ type: FrameType.Message }, Buffer.from('too early'))]),
        ),
      );
      const port = server.port;
      const error = await rejectsWith(connect({ host: '127.0.0.1', port, transport: 'tcp' }), 'EPROTO');
      assert.match(error.message, /frame type 0x10 before the handshake completed/);
      const frames = parseFrames(await server.sent());
      assert.equal(frames[frames.length - 1]?.header.aux, errorCodeToWire('EPROTO'));
      server.close();
    });

    it('the owner answers a duplicate operation id twice, in request order, and stays open', async () => {
      const { region: r, key } = region(pattern(32, 5));
      const raw = await handshake(s.listener.port);
      const server = await s.accept();
      raw.socket.write(
        Buffer.concat([
          rawHeader({ type: FrameType.ReadRequest, id: 5, key, offset: 0n, aux: 8 }),
          rawHeader({ type: FrameType.ReadRequest, id: 5, key, offset: 16n, aux: 8 }),
          frame({ type: FrameType.Message }, Buffer.from('after')),
        ]),
      );
      const answers = await receiveFrames(raw, 2, raw.consumed);
      assert.deepEqual(
        answers.map((a) => [a.header.type, a.header.id]),
        [
          [FrameType.ReadResponse, 5],
          [FrameType.ReadResponse, 5],
        ],
      );
      assert.deepEqual(answers[0]?.payload, Buffer.from(r.bytes.subarray(0, 8)));
      assert.deepEqual(answers[1]?.payload, Buffer.from(r.bytes.subarray(16, 24)));
      assert.equal(Buffer.from(await server.receive()).toString(), 'after');
      r.deregister();
      raw.socket.destroy();
    });

    describe('with maxInFlight 4', () => {
      const limited = served({ maxInFlight: 4 });

      it('answers a peer with 200 operations in flight, as long as it reads the answers', async () => {
        const { region: r, key } = region(pattern(64, 6));
        const raw = await handshake(limited.listener.port);
        await limited.accept();
        raw.socket.write(
          Buffer.concat(
            Array.from({ length: 200 }, (_, i) =>
              rawHeader({ type: FrameType.ReadRequest, id: i + 1, key, offset: BigInt(i % 56), aux: 8 }),
            ),
          ),
        );
        const answers = await receiveFrames(raw, 200, raw.consumed);
        answers.forEach((answer, i) => {
          assert.equal(answer.header.type, FrameType.ReadResponse);
          assert.equal(answer.header.id, i + 1);
          assert.deepEqual(answer.payload, Buffer.from(r.bytes.subarray(i % 56, (i % 56) + 8)));
        });
        await sleep(20);
        assert.equal(parseFrames(raw.received(), raw.consumed).length, 200, 'no Error frame');
        r.deregister();
        raw.socket.destroy();
      });
    });
  });
});
