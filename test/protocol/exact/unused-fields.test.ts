// docs/PROTOCOL.md, exactly: every field, byte and bit a frame does not use must be zero, and is refused
// otherwise; each refusal leaves the listener and its other connections working.
import * as assert from 'node:assert/strict';
import { FabricError } from '../../../src/api/errors.js';
import {
  decodeHeader,
  encodeHeader,
  FrameType,
  HEADER_SIZE,
  HELLO_SIZE,
  type HeaderField,
  READ_AHEAD_BYTES,
} from '../../../src/protocol/frame.js';
import { CAPABILITY_READ_AHEAD, encodeHello } from '../../../src/protocol/handshake.js';
import { TCP_FRAMES } from '../../../src/transports/tcp/frames.js';
import { RDMA_FRAMES } from '../../../src/transports/verbs/frames.js';
import { clientHello } from '../../helpers.js';
import { handshake, rawClient, rawHeader, refusedWith } from '../../raw-tcp-peer.js';

import {
  ALL_TYPES,
  FIELDS,
  frame,
  helloFrame,
  NONZERO,
  type RawPeer,
  region,
  sendHello,
  served,
} from './peers.js';

describe('protocol: docs/PROTOCOL.md, exactly', () => {
  describe('2. every field a frame does not use must be 0, and is checked (EPROTO)', () => {
    const s = served();

    it('the per-type table: a used field may be anything, an unused one must be 0, a type off its transport is refused', () => {
      for (const carrier of [TCP_FRAMES, RDMA_FRAMES]) {
        for (const type of ALL_TYPES) {
          const used = carrier.fields[type];
          const length = {
            [FrameType.Hello]: HELLO_SIZE,
            [FrameType.KeyGrant]: 24,
            [FrameType.Rendezvous]: 16,
          };
          const base = { type, length: (length as Partial<Record<FrameType, number>>)[type] ?? 0 };
          if (used === undefined) {
            assert.throws(
              () => decodeHeader(rawHeader(base), carrier),
              (e: unknown) =>
                e instanceof FabricError && e.code === 'EPROTO' && /is not carried over/.test(e.message),
            );
            continue;
          }
          assert.equal(decodeHeader(rawHeader(base), carrier).type, type);
          for (const field of FIELDS) {
            const bytes = rawHeader({ ...base, ...NONZERO[field] });
            if (used.includes(field)) {
              decodeHeader(bytes, carrier);
            } else {
              assert.throws(
                () => decodeHeader(bytes, carrier),
                (e: unknown) =>
                  e instanceof FabricError && e.code === 'EPROTO' && e.message.includes(`\`${field}\``),
                `${FrameType[type]} over ${carrier.name}: ${field}`,
              );
            }
          }
        }
      }
      assert.deepEqual(
        [...TCP_FRAMES.types].sort((a, b) => a - b),
        [0x01, 0x02, 0x03, 0x10, 0x11, 0x20, 0x21, 0x22, 0x23, 0x30],
      );
      assert.deepEqual(
        [...RDMA_FRAMES.types].sort((a, b) => a - b),
        [0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13, 0x24, 0x25, 0x26, 0x27, 0x30],
      );
    });

    for (const field of FIELDS) {
      it(`refuses a Hello, an Auth, and each data frame with a non-zero \`${field}\` it does not use`, async () => {
        const cases: { type: FrameType; step: 'hello' | 'auth' | 'open'; payload?: Buffer }[] = [
          { type: FrameType.Hello, step: 'hello', payload: encodeHello(clientHello()) },
          { type: FrameType.Auth, step: 'auth' },
          { type: FrameType.Message, step: 'open', payload: Buffer.from('x') },
          { type: FrameType.Credit, step: 'open' },
          { type: FrameType.Write, step: 'open', payload: Buffer.from('x') },
          { type: FrameType.WriteAck, step: 'open' },
          { type: FrameType.ReadResponse, step: 'open' },
          { type: FrameType.Error, step: 'open' },
        ];
        let refused = 0;
        for (const { type, step, payload } of cases) {
          if ((TCP_FRAMES.fields[type] as readonly HeaderField[]).includes(field)) continue;
          const bad = frame({ type, ...NONZERO[field] }, payload);
          let peer: RawPeer;
          let at = 0;
          if (step === 'open') {
            const raw = await handshake(s.listener.port);
            await s.accept();
            peer = raw;
            at = raw.consumed;
          } else {
            peer = await rawClient(s.listener.port);
            if (step === 'auth') {
              await sendHello(peer, helloFrame());
              at = HEADER_SIZE + HELLO_SIZE;
            }
          }
          peer.socket.write(bad);
          const text = await refusedWith(peer, 'EPROTO', at);
          assert.match(text, new RegExp(`non-zero \`${field}\` field`), `${FrameType[type]}: ${text}`);
          refused++;
        }
        assert.ok(refused >= 3);
      });
    }

    it('refuses the flags byte and the reserved bytes of a header when they are not zero', async () => {
      for (const at of [1, 2, 3]) {
        const raw = await handshake(s.listener.port);
        await s.accept();
        const bad = frame({ type: FrameType.Message }, Buffer.from('x'));
        bad[at] = 0x80;
        raw.socket.write(bad);
        assert.match(await refusedWith(raw, 'EPROTO', raw.consumed), /reserved header bytes/);
      }
    });

    it('refuses read-ahead padding that is not zero, before the payload lands', async () => {
      const { region: r, key } = region(new Uint8Array(64));
      const raw = await handshake(s.listener.port, { capabilities: CAPABILITY_READ_AHEAD });
      await s.accept();
      const padding = Buffer.alloc(READ_AHEAD_BYTES - HEADER_SIZE);
      padding[200] = 1;
      raw.socket.write(
        Buffer.concat([
          encodeHeader({ type: FrameType.Write, id: 1, key, length: 64 }),
          padding,
          Buffer.alloc(64, 7),
        ]),
      );
      assert.match(await refusedWith(raw, 'EPROTO', raw.consumed), /padding/);
      assert.ok(r.bytes.every((byte) => byte === 0));
      r.deregister();
    });

    it("ignores unknown capability bits (announcements, not unused fields): the Hello's one exception", async () => {
      const raw = await handshake(s.listener.port, { capabilities: 0xffff_fffe });
      const server = await s.accept();
      raw.socket.write(frame({ type: FrameType.Message }, Buffer.from('ok')));
      assert.equal(Buffer.from(await server.receive()).toString(), 'ok');
      raw.socket.destroy();
    });
  });
});
