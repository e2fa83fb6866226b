// docs/PROTOCOL.md, exactly: how each Hello that breaks a stated requirement is answered, on both sides.
import * as assert from 'node:assert/strict';
import { errorCodeToWire } from '../../../src/api/errors.js';
import { connect } from '../../../src/index.js';
import { FrameType } from '../../../src/protocol/frame.js';
import { decodeHello, encodeHello } from '../../../src/protocol/handshake.js';
import { clientHello, rejectsWith } from '../../helpers.js';
import { parseFrames, rawClient, rawServer, refusedWith } from '../../raw-tcp-peer.js';

import { frame, helloFrame, sendHello, served } from './peers.js';

describe('protocol: docs/PROTOCOL.md, exactly', () => {
  describe('4. a Hello that breaks a stated requirement: Error frame EPROTO (id 0) instead of the Hello, then close', () => {
    const s = served();
    const bad: [string, (hello: Buffer) => void][] = [
      ['a bad magic', (h) => h.write('FBRD', 0, 'latin1')],
      ['version 0', (h) => h.writeUInt16LE(0, 4)],
      ['an unknown flag bit (bit 1)', (h) => h.writeUInt16LE(0x2, 6)],
      ['an unknown flag bit (bit 15)', (h) => h.writeUInt16LE(0x8000, 6)],
      ['maxMessageSize 0', (h) => h.writeUInt32LE(0, 12)],
      ['a receive window below maxMessageSize + 32', (h) => h.writeUInt32LE(h.readUInt32LE(12) + 31, 16)],
    ];

    for (const [name, mutate] of bad) {
      it(`refuses a client Hello with ${name}`, async () => {
        const hello = encodeHello(clientHello());
        mutate(hello);
        const peer = await rawClient(s.listener.port);
        peer.socket.write(frame({ type: FrameType.Hello }, hello));
        assert.match(await refusedWith(peer, 'EPROTO'), /HELLO/);
        assert.equal(parseFrames(peer.received()).length, 1, 'no Hello of its own');
      });
    }

    it('accepts the limits at their bounds (a window of exactly maxMessageSize + 32), and a higher client version', async () => {
      const peer = await rawClient(s.listener.port);
      const answer = await sendHello(peer, helloFrame({ version: 7, maxMessageSize: 1, receiveWindow: 33 }));
      assert.equal(answer.header.type, FrameType.Hello);
      assert.equal(decodeHello(answer.payload).version, 1, 'the server answers min(7, 1)');
      peer.socket.destroy();
    });

    for (const [name, mutate] of [
      ...bad,
      ['version 2, which the client does not speak', (h: Buffer) => h.writeUInt16LE(2, 4)],
    ] as const) {
      it(`a client refuses a server Hello with ${name} the same way`, async () => {
        const server = await rawServer((socket) => {
          const hello = encodeHello(clientHello());
          mutate(hello);
          socket.write(frame({ type: FrameType.Hello }, hello));
        });
        const port = server.port;
        await rejectsWith(connect({ host: '127.0.0.1', port, transport: 'tcp' }), 'EPROTO');
        const frames = parseFrames(await server.sent());
        assert.deepEqual(
          frames.map((f) => [f.header.type, f.header.id, f.header.aux]),
          [
            [FrameType.Hello, 0, 0],
            [FrameType.Error, 0, errorCodeToWire('EPROTO')],
          ],
        );
        server.close();
      });
    }
  });
});
