import * as assert from 'node:assert/strict';
import { FabricError } from '../../src/api/errors.js';
import { stats } from '../../src/api/stats.js';
import { DESCRIPTOR_SIZE, decodeDescriptor, encodeDescriptor } from '../../src/protocol/descriptor.js';
import {
  decodeHeader,
  encodeHeader,
  type FrameHeader,
  FrameType,
  HEADER_SIZE,
  HELLO_SIZE,
  READ_AHEAD_BYTES,
} from '../../src/protocol/frame.js';
import { DISCARD, FrameReader } from '../../src/protocol/frame-reader.js';
import { decodeHello, encodeHello, newNonce, tokenProof } from '../../src/protocol/handshake.js';
import { TCP_FRAMES } from '../../src/transports/tcp/frames.js';
import { clientHello, pattern } from '../helpers.js';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => error instanceof FabricError && error.code === code);
}

interface Received {
  header: FrameHeader;
  payload: Uint8Array;
}

/**
 * Feeds `stream` to a reader in reads of at most `chunk` bytes, as a socket would (reading ahead when
 * `readAhead`); the frames it delivered, and how many reads it took.
 */
function feed(
  stream: Uint8Array,
  chunk: number,
  target?: (header: FrameHeader) => Uint8Array | undefined | typeof DISCARD,
  readAhead = false,
) {
  const frames: Received[] = [];
  const reader = new FrameReader(
    {
      payloadTarget: (header) => (target ? target(header) : undefined),
      onFrame: (header, payload) => frames.push({ header, payload: new Uint8Array(payload) }),
    },
    TCP_FRAMES,
  );
  if (readAhead) reader.readAhead();
  let at = 0;
  let reads = 0;
  while (at < stream.length) {
    reads++;
    const into = reader.nextBuffer();
    assert.ok(into.length > 0, 'the reader always asks for at least one byte');
    const n = Math.min(into.length, chunk, stream.length - at);
    into.set(stream.subarray(at, at + n));
    at += n;
    reader.onRead(n);
  }
  return { frames, reader, reads };
}

/** One frame as a sender puts it on the wire, padded as for a peer that reads ahead when `padded`. */
function frame(
  header: Partial<FrameHeader> & { type: FrameType },
  payload: Uint8Array = new Uint8Array(0),
  padded = false,
): Buffer {
  // Write and ReadResponse payloads land in the receiver's own memory: those are the frames padded.
  const placed = header.type === FrameType.Write || header.type === FrameType.ReadResponse;
  const padding = padded && placed ? READ_AHEAD_BYTES - HEADER_SIZE : 0;
  return Buffer.concat([encodeHeader({ ...header, length: payload.length }), Buffer.alloc(padding), payload]);
}

describe('protocol', () => {
  describe('frame header', () => {
    it('round-trips every field', () => {
      const header = {
        type: FrameType.Write,
        length: 123456,
        id: 0xfffffffe,
        aux: 77,
        key: 0xfedcba9876543210n,
        offset: 2 ** 53 - 1,
      };
      assert.deepEqual(decodeHeader(encodeHeader(header)), header);
      assert.equal(encodeHeader(header).length, HEADER_SIZE);
    });

    it('rejects truncated, unknown, reserved-bit and oversized headers with EPROTO', () => {
      const good = encodeHeader({ type: FrameType.Message, length: 5 });
      throwsCode(() => decodeHeader(good.subarray(0, HEADER_SIZE - 1)), 'EPROTO');
      for (const [at, value] of [
        [0, 0x00],
        [0, 0x7f],
        [0, 0xff],
        [1, 0x01],
        [2, 0x01],
        [31, 0xff],
      ] as const) {
        const bad = Buffer.from(good);
        bad[at] = value;
        // the last one: a Message does not use `offset`, so over TCP it must be 0
        throwsCode(() => decodeHeader(bad, TCP_FRAMES), 'EPROTO');
      }
      throwsCode(
        () => decodeHeader(encodeHeader({ type: FrameType.Hello, length: HELLO_SIZE + 1 })),
        'EPROTO',
      );
      throwsCode(() => decodeHeader(encodeHeader({ type: FrameType.Credit, length: 1 })), 'EPROTO');
      throwsCode(() => decodeHeader(encodeHeader({ type: FrameType.Error, length: 100000 })), 'EPROTO');
    });

    it('never throws anything but EPROTO on random headers', () => {
      for (let seed = 1; seed < 20000; seed++) {
        const bytes = pattern(HEADER_SIZE, seed);
        try {
          decodeHeader(bytes);
        } catch (error) {
          assert.ok(error instanceof FabricError && error.code === 'EPROTO', String(error));
        }
      }
    });
  });

  for (const readAhead of [false, true]) {
    describe(`frame reader${readAhead ? ', reading ahead' : ''}`, () => {
      const stream = Buffer.concat([
        frame({ type: FrameType.Message, aux: 9 }, pattern(10, 1)),
        frame({ type: FrameType.Credit, aux: 4096 }),
        frame({ type: FrameType.Message }, new Uint8Array(0)),
        frame({ type: FrameType.Write, id: 3, key: 5n, offset: 8 }, pattern(70000, 2), readAhead),
        frame({ type: FrameType.Message }, pattern(3, 3)),
      ]);
      const feedStream = (
        bytes: Uint8Array,
        chunk: number,
        target?: (header: FrameHeader) => Uint8Array | undefined | typeof DISCARD,
      ) => feed(bytes, chunk, target, readAhead);

      for (const chunk of [1, 7, 32, 33, 100, 65536, 1 << 30]) {
        it(`splits a stream into frames whatever the read sizes (${chunk}-byte reads)`, () => {
          const { frames, reader } = feedStream(stream, chunk);
          assert.deepEqual(
            frames.map((f) => [f.header.type, f.payload.length]),
            [
              [FrameType.Message, 10],
              [FrameType.Credit, 0],
              [FrameType.Message, 0],
              [FrameType.Write, 70000],
              [FrameType.Message, 3],
            ],
          );
          assert.deepEqual(frames[0]?.payload, pattern(10, 1));
          assert.deepEqual(frames[3]?.payload, pattern(70000, 2));
          assert.equal(frames[1]?.header.aux, 4096);
          assert.ok(reader.atBoundary);
        });
      }

      it('lands a payload in the memory the sink names, never reading past its header', () => {
        const region = new Uint8Array(70000);
        let asked = 0;
        const before = stats();
        const { frames } = feedStream(stream, 1 << 30, (header) => {
          if (header.type !== FrameType.Write) return undefined;
          asked++;
          return region;
        });
        const after = stats();
        assert.equal(asked, 1);
        assert.equal(frames[3]?.payload.length, 70000);
        assert.deepEqual(region, pattern(70000, 2));
        // Every payload byte was read straight into the region, none through the reader's own memory.
        assert.equal(after.placedBytes - before.placedBytes, 70000);
        // Only small message payloads read together with their header are copied (reading ahead).
        assert.equal(after.copiedBytes - before.copiedBytes, readAhead ? 13 : 0);
      });

      it(`reads a stream of small messages in ${readAhead ? 'one read per six' : 'one read each'}`, () => {
        const messages = Array.from({ length: 20 }, (_, i) =>
          frame({ type: FrameType.Message }, pattern(8, i)),
        );
        const { frames, reads } = feedStream(Buffer.concat(messages), 1 << 30);
        assert.equal(frames.length, 20);
        assert.deepEqual(frames[19]?.payload, pattern(8, 19));
        // Reading ahead, a read reaches 256 bytes past the start of the frame it begins in: six 40-byte frames.
        // Else one read per header, then one for each payload with the next header behind it.
        assert.equal(reads, readAhead ? Math.ceil(20 / Math.floor(READ_AHEAD_BYTES / 40)) : 21);
      });

      it('hands over a message in memory of its own, no larger than its credit, with nothing stale behind it', () => {
        const messages: Uint8Array[] = [];
        const reader = new FrameReader(
          {
            payloadTarget: () => undefined,
            onFrame: (_, payload) => messages.push(payload),
          },
          TCP_FRAMES,
        );
        if (readAhead) reader.readAhead();
        const wire = Buffer.concat([
          frame({ type: FrameType.Message }, pattern(1000, 5)),
          frame({ type: FrameType.Message }, pattern(20, 6)),
        ]);
        // Garbage where the reader's fresh buffers come from cannot show: fill and drop some first.
        for (let i = 0; i < 64; i++) Buffer.allocUnsafeSlow(1100).fill(0xee);
        for (const [from, to] of [
          [0, 100],
          [100, wire.length],
        ] as const) {
          for (let at = from; at < to; ) {
            const into = reader.nextBuffer();
            const count = Math.min(into.length, to - at);
            into.set(wire.subarray(at, at + count));
            at += count;
            reader.onRead(count);
          }
        }
        assert.deepEqual(
          messages.map((m) => Buffer.from(m)),
          [Buffer.from(pattern(1000, 5)), Buffer.from(pattern(20, 6))],
        );
        for (const message of messages) {
          const whole = new Uint8Array(message.buffer);
          assert.ok(whole.length <= message.length + HEADER_SIZE, 'held bytes within the credit it counts');
          assert.ok(whole.subarray(message.byteOffset + message.length).every((byte) => byte === 0));
        }
      });

      it('drops a discarded payload and carries on with the next frame', () => {
        const { frames } = feedStream(stream, 4000, (header) =>
          header.type === FrameType.Write ? DISCARD : undefined,
        );
        assert.equal(frames[3]?.payload.length, 0);
        assert.deepEqual(frames[4]?.payload, pattern(3, 3));
      });

      it('holds a truncated frame without delivering it', () => {
        const { frames, reader } = feedStream(stream.subarray(0, stream.length - 1), 1000);
        assert.equal(frames.length, 4);
        assert.equal(reader.atBoundary, false);
      });

      it('rejects a corrupted stream with EPROTO', () => {
        const corrupted = Buffer.from(stream);
        corrupted[HEADER_SIZE + 10] = 0x99; // the second frame's type byte
        throwsCode(() => feedStream(corrupted, 1000), 'EPROTO');
      });
    });
  }

  describe('hello', () => {
    const hello = clientHello();

    it('round-trips, with and without a token', () => {
      assert.deepEqual(decodeHello(encodeHello(hello)), hello);
      assert.deepEqual(decodeHello(encodeHello({ ...hello, token: true })), { ...hello, token: true });
    });

    it('rejects a bad magic, version 0, unknown flags and inconsistent limits with EPROTO', () => {
      const good = encodeHello(hello);
      for (const [at, value] of [
        [0, 0],
        [4, 0],
        [6, 0x80],
      ] as const) {
        const bad = Buffer.from(good);
        bad[at] = value;
        if (at === 4) bad[5] = 0;
        throwsCode(() => decodeHello(bad), 'EPROTO');
      }
      throwsCode(() => decodeHello(encodeHello({ ...hello, receiveWindow: 100 })), 'EPROTO');
      throwsCode(() => decodeHello(good.subarray(0, 10)), 'EPROTO');
    });

    it('binds proofs to the role and to both nonces', () => {
      const [a, b] = [newNonce(), newNonce()];
      const proof = tokenProof('secret', 'client', a, b);
      assert.deepEqual(tokenProof('secret', 'client', a, b), proof);
      assert.notDeepEqual(tokenProof('secret', 'server', a, b), proof);
      assert.notDeepEqual(tokenProof('secret', 'client', b, a), proof);
      assert.notDeepEqual(tokenProof('other', 'client', a, b), proof);
    });
  });

  describe('region descriptor', () => {
    it('round-trips key, length and access and carries no address', () => {
      const region = { key: 0x0123456789abcdefn, length: 2 ** 40 + 5, access: 3 };
      const bytes = encodeDescriptor(region);
      assert.equal(bytes.length, DESCRIPTOR_SIZE);
      assert.deepEqual(decodeDescriptor(bytes), region);
    });

    it('rejects anything else with EINVAL', () => {
      const good = encodeDescriptor({ key: 1n, length: 10, access: 1 });
      throwsCode(() => decodeDescriptor(good.subarray(1)), 'EINVAL');
      throwsCode(() => decodeDescriptor('descriptor'), 'EINVAL');
      for (const [at, value] of [
        [0, 2],
        [1, 0],
        [1, 4],
        [2, 1],
        [5, 1],
        [15, 0xff],
      ] as const) {
        const bad = new Uint8Array(good);
        bad[at] = value;
        throwsCode(() => decodeDescriptor(bad), 'EINVAL');
      }
    });
  });
});
