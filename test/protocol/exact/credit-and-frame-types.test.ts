// docs/PROTOCOL.md, exactly: when TCP returns credit, the window maxBufferedBytes announces, and the frame
// types TCP does not carry, refused at their header.
import * as assert from 'node:assert/strict';
import { resolveOptions } from '../../../src/core/options.js';
import { FrameType } from '../../../src/protocol/frame.js';
import { decodeHello } from '../../../src/protocol/handshake.js';
import { TCP_FRAMES } from '../../../src/transports/tcp/frames.js';
import { RDMA_FRAMES } from '../../../src/transports/verbs/frames.js';
import { rejectsWith, sleep } from '../../helpers.js';
import {
  handshake,
  parseFrames,
  rawClient,
  rawHeader,
  receiveFrames,
  refusedWith,
} from '../../raw-tcp-peer.js';

import { frame, helloFrame, sendHello, served } from './peers.js';

describe('protocol: docs/PROTOCOL.md, exactly', () => {
  describe('7. TCP credit: in the next Message, or a Credit frame once more than the slack is unreturned', () => {
    // S = receiveWindow - maxMessageSize - 32 = 2000 bytes of slack.
    const s = served({ maxMessageSize: 1000, maxBufferedBytes: 3032 });

    it('returns nothing while U <= S, a Credit frame with C once U > S, and the rest in its next Message', async () => {
      const raw = await handshake(s.listener.port);
      const server = await s.accept();
      const message = frame({ type: FrameType.Message }, Buffer.alloc(468)); // costs 500
      const taken = async (count: number) => {
        for (let i = 0; i < count; i++) assert.equal((await server.receive()).length, 468);
      };
      const nothingMore = async (frames: number) => {
        await sleep(50);
        assert.equal(parseFrames(raw.received(), raw.consumed).length, frames);
      };
      raw.socket.write(Buffer.concat([message, message, message, message]));
      await taken(4); // U = 2000 = S, C = 2000: the peer still has credit for any message
      await nothingMore(0);
      raw.socket.write(message); // U = 2500 > S while C > 0
      const [credit] = await receiveFrames(raw, 1, raw.consumed);
      assert.deepEqual([credit?.header.type, credit?.header.aux], [FrameType.Credit, 2000]);
      await taken(1); // U = C = 500 <= S
      await nothingMore(1);
      await server.send(Buffer.from('reply'));
      const reply = (await receiveFrames(raw, 2, raw.consumed))[1];
      assert.deepEqual([reply?.header.type, reply?.header.aux], [FrameType.Message, 500]);
      raw.socket.destroy();
    });
  });

  describe('8. maxBufferedBytes is the window announced: by default maxMessageSize + 32 + 1 MiB', () => {
    const s = served();

    it('resolves and announces it', async () => {
      assert.equal(resolveOptions({}).receiveWindow, (16 << 20) + 32 + (1 << 20));
      assert.equal(resolveOptions({ maxMessageSize: 1000 }).receiveWindow, 1000 + 32 + (1 << 20));
      assert.equal(resolveOptions({ maxMessageSize: 1000, maxBufferedBytes: 1032 }).receiveWindow, 1032);
      const peer = await rawClient(s.listener.port);
      const hello = decodeHello((await sendHello(peer, helloFrame())).payload);
      assert.equal(hello.maxMessageSize, 16 << 20);
      assert.equal(hello.receiveWindow, hello.maxMessageSize + 32 + (1 << 20));
      peer.socket.destroy();
    });
  });

  describe('9. a frame type TCP does not carry is refused at its header: EPROTO, then close', () => {
    const s = served();
    const rdmaOnly = [...RDMA_FRAMES.types].filter((type) => !TCP_FRAMES.types.has(type));
    const lengths: Partial<Record<FrameType, number>> = {
      [FrameType.Rendezvous]: 16,
      [FrameType.KeyGrant]: 24,
    };

    for (const [type, length] of [
      [FrameType.Rendezvous, 16],
      [FrameType.KeyGrant, 24],
      ...rdmaOnly.map((t) => [t, lengths[t] ?? 0] as const),
    ] as const) {
      it(`refuses ${FrameType[type]} (0x${type.toString(16)}, length ${length}), sent as a header alone`, async () => {
        const raw = await handshake(s.listener.port);
        const server = await s.accept();
        raw.socket.write(rawHeader({ type, length }));
        assert.match(await refusedWith(raw, 'EPROTO', raw.consumed), /is not carried over TCP/);
        await rejectsWith(server.receive(), 'EPROTO');
      });
    }

    it('covers every RDMA-only type', () => {
      assert.deepEqual(
        rdmaOnly.sort((a, b) => a - b),
        [0x12, 0x13, 0x24, 0x25, 0x26, 0x27],
      );
    });
  });
});
