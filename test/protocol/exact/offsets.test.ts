// docs/PROTOCOL.md, exactly: where offsets stop (2^53, offset + length past 2^64): ERANGE for that
// operation, the connection staying open.
import * as assert from 'node:assert/strict';
import { errorCodeToWire, type FabricError } from '../../../src/api/errors.js';
import { register } from '../../../src/index.js';
import { decodeDescriptor, encodeDescriptor } from '../../../src/protocol/descriptor.js';
import { decodeHeader, FrameType, OFFSET_LIMIT } from '../../../src/protocol/frame.js';
import { TCP_FRAMES } from '../../../src/transports/tcp/frames.js';
import { rejectsWith } from '../../helpers.js';
import { handshake, rawHeader, receiveFrames } from '../../raw-tcp-peer.js';

import { frame, region, served, U64_MAX } from './peers.js';

describe('protocol: docs/PROTOCOL.md, exactly', () => {
  describe('3. offsets: at or above 2^53, or offset + length past 2^64, are ERANGE for that operation', () => {
    const s = served();

    it('decodes an offset at or above 2^53 as OFFSET_LIMIT, beyond every region', () => {
      for (const offset of [1n << 53n, (1n << 53n) + 1n, U64_MAX]) {
        assert.equal(
          decodeHeader(rawHeader({ type: FrameType.Write, offset }), TCP_FRAMES).offset,
          OFFSET_LIMIT,
        );
      }
      assert.equal(
        decodeHeader(rawHeader({ type: FrameType.Write, offset: (1n << 53n) - 1n }), TCP_FRAMES).offset,
        2 ** 53 - 1,
      );
    });

    it('answers each such Write and ReadRequest with an Error frame carrying its id and ERANGE; the connection stays open', async () => {
      const { region: r, key } = region(new Uint8Array(64));
      const raw = await handshake(s.listener.port);
      const server = await s.accept();
      const data = Buffer.alloc(8, 0xee);
      const requests = [
        frame({ type: FrameType.Write, id: 1, key, offset: 1n << 53n }, data),
        frame({ type: FrameType.Write, id: 2, key, offset: U64_MAX }, data),
        frame({ type: FrameType.Write, id: 3, key, offset: 1n << 60n }), // no payload
        rawHeader({ type: FrameType.ReadRequest, id: 4, key, aux: 16, offset: U64_MAX - 7n }), // past 2^64
        rawHeader({ type: FrameType.ReadRequest, id: 5, key, aux: 0xffff_ffff, offset: (1n << 53n) - 1n }),
        rawHeader({ type: FrameType.ReadRequest, id: 6, key, aux: 2, offset: 63n }), // past the region
        // and the connection still works: a write and a read inside the region, then a message
        frame({ type: FrameType.Write, id: 7, key, offset: 8n }, data),
        rawHeader({ type: FrameType.ReadRequest, id: 8, key, aux: 8, offset: 8n }),
        frame({ type: FrameType.Message }, Buffer.from('still open')),
      ];
      raw.socket.write(Buffer.concat(requests));
      const answers = await receiveFrames(raw, 8, raw.consumed);
      for (const [i, answer] of answers.slice(0, 6).entries()) {
        assert.equal(answer.header.type, FrameType.Error, `answer ${i + 1}`);
        assert.equal(answer.header.id, i + 1);
        assert.equal(answer.header.aux, errorCodeToWire('ERANGE'), answer.payload.toString());
        assert.match(answer.payload.toString(), /pass the end of the region/);
      }
      assert.deepEqual(
        answers.slice(6).map((a) => [a.header.type, a.header.id]),
        [
          [FrameType.WriteAck, 7],
          [FrameType.ReadResponse, 8],
        ],
      );
      assert.deepEqual(answers[7]?.payload, data);
      assert.equal(Buffer.from(await server.receive()).toString(), 'still open');
      assert.ok(
        r.bytes.subarray(0, 8).every((byte) => byte === 0) && r.bytes.subarray(16).every((b) => b === 0),
      );
      r.deregister();
      raw.socket.destroy();
    });

    it('checks a descriptor locally: length below 2^53 (else EINVAL), remoteOffset an integer below 2^53 (EINVAL), within it (ERANGE)', async () => {
      const descriptor = (length: bigint) => {
        const bytes = Buffer.from(encodeDescriptor({ key: 5n, length: 1, access: 3 }));
        bytes.writeBigUInt64LE(length, 8);
        return new Uint8Array(bytes);
      };
      assert.equal(decodeDescriptor(descriptor((1n << 53n) - 1n)).length, 2 ** 53 - 1);
      assert.throws(
        () => decodeDescriptor(descriptor(1n << 53n)),
        (e: unknown) => (e as FabricError).code === 'EINVAL',
      );
      const { client, server } = s.good;
      const target = register(new Uint8Array(64), { peers: [server] });
      const source = register(new Uint8Array(8));
      await rejectsWith(client.write(source, target.descriptor, 2 ** 53), 'EINVAL');
      await rejectsWith(client.write(source, target.descriptor, 57), 'ERANGE');
      await rejectsWith(client.read(source, descriptor(1n << 53n)), 'EINVAL');
      await client.write(source, target.descriptor, 56);
      target.deregister();
      source.deregister();
    });
  });
});
