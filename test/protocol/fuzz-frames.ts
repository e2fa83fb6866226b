// Generators of frames for the fuzzers: well-formed frames, and the mutations that break them.
import fc from 'fast-check';
import { encodeHeader, FrameType, HEADER_SIZE } from '../../src/protocol/frame.js';

/** The largest payload a fuzzed frame may ask for, as a connection's limits would (maxMessageSize). */
export const MAX_PAYLOAD = 64 << 10;
const FRAME_TYPES = Object.values(FrameType).filter((value): value is number => typeof value === 'number');

export const header = fc.record({
  type: fc.constantFrom(...FRAME_TYPES),
  length: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 * MAX_PAYLOAD }), fc.nat()),
  id: fc.nat(),
  aux: fc.nat(),
  key: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  offset: fc.maxSafeNat(),
});

/** A well-formed frame (valid header, payload of its length, at most 512 bytes), where mutations start. */
export const frame = header.chain((h) => {
  const length = Math.min(h.length, 512);
  return fc.uint8Array({ minLength: length, maxLength: length }).map((payload) => {
    const bytes = new Uint8Array(HEADER_SIZE + length);
    bytes.set(encodeHeader({ ...h, length }));
    bytes.set(payload, HEADER_SIZE);
    return bytes;
  });
});

export type Mutation = { kind: 'flip' | 'set' | 'cut' | 'insert'; at: number; value: number };
export const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'set', 'cut', 'insert'),
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
});

export function mutate(
  frames: readonly Uint8Array[],
  mutations: readonly Mutation[],
  order: number[],
): Uint8Array {
  let stream = Buffer.concat(order.map((i) => frames[i % frames.length] as Uint8Array));
  for (const { kind, at, value } of mutations) {
    if (stream.length === 0) break;
    const i = at % stream.length;
    if (kind === 'flip') stream[i] = (stream[i] as number) ^ (1 << (value & 7));
    else if (kind === 'set') stream[i] = value;
    else if (kind === 'cut') stream = stream.subarray(0, i);
    else stream = Buffer.concat([stream.subarray(0, i), Buffer.from([value]), stream.subarray(i)]);
  }
  return stream;
}
