// Property-based fuzzing of everything that decodes peer bytes: frame headers, the incremental frame reader,
// HELLO, Error and rendezvous payloads, and region descriptors. Every input either decodes or is refused with
// a FabricError (EPROTO for the wire, EINVAL for a descriptor handed to the API); nothing else may escape.
// FUZZ_RUNS scales the number of inputs (CI runs at least 100,000 in all); each property is bounded in time.

import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { FabricError } from '../../src/api/errors.js';
import { decodeDescriptor, encodeDescriptor } from '../../src/protocol/descriptor.js';
import { decodeErrorFrame } from '../../src/protocol/error-frame.js';
import {
  carriesPlacedPayload,
  decodeHeader,
  encodeHeader,
  type FrameHeader,
  type FrameRules,
  FrameType,
  HEADER_SIZE,
  READ_AHEAD_BYTES,
} from '../../src/protocol/frame.js';
import { DISCARD, FrameReader, type FrameSink } from '../../src/protocol/frame-reader.js';
import { decodeHello, encodeHello } from '../../src/protocol/handshake.js';
import { decodeSegments } from '../../src/protocol/segments.js';
import { TCP_FRAMES } from '../../src/transports/tcp/frames.js';
import { RDMA_FRAMES } from '../../src/transports/verbs/frames.js';
import { clientHello } from '../helpers.js';
import { frame, header, MAX_PAYLOAD, mutate, mutation } from './fuzz-frames.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 25_000);
/** A property that runs out of time stops there, and fails if it ran fewer than a tenth of its inputs. */
const TIME_LIMIT_MS = 60_000;

let inputs = 0;

/** Runs `decode`: it returns, or throws a FabricError with one of `codes`. */
function refusedCleanly(decode: () => unknown, codes: readonly string[]): boolean {
  inputs++;
  try {
    decode();
    return true;
  } catch (error) {
    if (error instanceof FabricError && codes.includes(error.code)) return true;
    throw new Error(`escaped: ${String(error)}`, { cause: error });
  }
}

function check<T>(property: fc.IProperty<T>, runs = RUNS): void {
  const result = fc.check(property, { numRuns: runs, interruptAfterTimeLimit: TIME_LIMIT_MS });
  if (result.failed)
    fc.assert(property, { numRuns: runs, seed: result.seed, path: result.counterexamplePath ?? '' });
  assert.ok(result.numRuns >= runs / 10, `only ${result.numRuns} of ${runs} inputs ran in time`);
}

/** A sink that checks payloads as the connections do: control payloads decoded, data bounded. */
class CheckingSink implements FrameSink {
  frames = 0;
  payloadTarget(header: FrameHeader): undefined {
    if (header.length > MAX_PAYLOAD) throw new FabricError('EPROTO', 'payload above the limit');
    return undefined;
  }
  onFrame(header: FrameHeader, payload: Uint8Array): void {
    this.frames++;
    assert.equal(payload.length, header.length);
    if (header.type === FrameType.Hello) decodeHello(payload);
    if (header.type === FrameType.Error) decodeErrorFrame(header, payload, 'peer');
    if (header.type === FrameType.Rendezvous) decodeSegments(payload, header.offset);
  }
}

/**
 * Feeds `stream` to a FrameReader in reads of the given sizes, as a socket would (reading ahead, or not),
 * checking headers as a TCP connection does, or (undefined) only what every transport shares.
 */
function feed(
  stream: Uint8Array,
  readSizes: readonly number[],
  readAhead: boolean,
  carrier: FrameRules | undefined,
): void {
  const reader = new FrameReader(new CheckingSink(), carrier);
  if (readAhead) reader.readAhead();
  let at = 0;
  for (let i = 0; at < stream.length; i++) {
    const target = reader.nextBuffer();
    const count = Math.min(target.length, stream.length - at, readSizes[i % readSizes.length] ?? 1);
    target.set(stream.subarray(at, at + count));
    at += count;
    reader.onRead(count);
  }
}

describe('fuzz: decoders of peer input', function () {
  this.timeout(6 * TIME_LIMIT_MS);

  after(() => console.log(`      ${inputs} generated and mutated inputs, none escaped`));

  it('decodeHeader: any 32 bytes decode or are refused with EPROTO, on either transport or none', () => {
    check(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.constantFrom(TCP_FRAMES, RDMA_FRAMES, undefined),
        (bytes, carrier) => refusedCleanly(() => decodeHeader(bytes, carrier), ['EPROTO']),
      ),
    );
  });

  it('decodeHeader: a header it accepts encodes back to the same fields', () => {
    check(
      fc.property(header, (h) => {
        inputs++;
        let decoded: FrameHeader;
        try {
          decoded = decodeHeader(encodeHeader(h));
        } catch (error) {
          return error instanceof FabricError && error.code === 'EPROTO';
        }
        assert.deepEqual(decoded, { ...h });
        return true;
      }),
    );
  });

  it('FrameReader: mutated, reordered and truncated frame streams, read in any chunking', () => {
    check(
      fc.property(
        fc.array(frame, { minLength: 1, maxLength: 6 }),
        fc.array(mutation, { maxLength: 4 }),
        fc.array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.constantFrom(TCP_FRAMES, undefined),
        (frames, mutations, order, readSizes, readAhead, carrier) =>
          refusedCleanly(
            () => feed(mutate(frames, mutations, order), readSizes, readAhead, carrier),
            ['EPROTO'],
          ),
      ),
    );
  });

  it('FrameReader: random bytes', () => {
    check(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.constantFrom(TCP_FRAMES, undefined),
        (bytes, readSizes, readAhead, carrier) =>
          refusedCleanly(() => feed(bytes, readSizes, readAhead, carrier), ['EPROTO']),
      ),
    );
  });

  it('FrameReader: valid streams arrive intact in any chunking, and no read but its own takes a placed payload', () => {
    const validFrame = fc.record({
      type: fc.constantFrom(
        FrameType.Message,
        FrameType.Credit,
        FrameType.Write,
        FrameType.ReadResponse,
        FrameType.Error,
      ),
      payload: fc.uint8Array({ maxLength: 700 }),
      discard: fc.boolean(),
    });
    check(
      fc.property(
        fc.array(validFrame, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 5 }),
        // Read-ahead starts after this frame, as it does after Ready or Auth (-1: from the start).
        fc.integer({ min: -1, max: 8 }),
        (specs, readSizes, switchAfter) => {
          inputs++;
          const frames = specs.map((spec) => ({
            ...spec,
            payload: spec.type === FrameType.Credit ? new Uint8Array(0) : spec.payload,
          }));
          // The wire, as the sender puts it: one-sided payloads padded once read-ahead is on; where each lies.
          const parts: Uint8Array[] = [];
          const placed: { from: number; to: number }[] = [];
          let offset = 0;
          frames.forEach(({ type, payload, discard }, i) => {
            const padded = i > switchAfter && carriesPlacedPayload(type);
            parts.push(encodeHeader({ type, id: i + 1, length: payload.length }));
            if (padded) parts.push(new Uint8Array(READ_AHEAD_BYTES - HEADER_SIZE));
            parts.push(payload);
            offset += HEADER_SIZE + (padded ? READ_AHEAD_BYTES - HEADER_SIZE : 0);
            if (carriesPlacedPayload(type) && !discard)
              placed.push({ from: offset, to: offset + payload.length });
            offset += payload.length;
          });
          const wire = Buffer.concat(parts);
          const targets = new Map<number, Uint8Array>();
          const delivered: { header: FrameHeader; payload: Uint8Array }[] = [];
          // Message and Credit frames carry ids here (to find their spec): checked as on every transport only.
          const reader = new FrameReader(
            {
              payloadTarget: (header) => {
                const spec = frames[header.id - 1] as (typeof frames)[number];
                if (!carriesPlacedPayload(header.type)) return undefined;
                if (spec.discard) return DISCARD;
                const target = new Uint8Array(header.length);
                targets.set(header.id, target);
                return target;
              },
              onFrame: (header, payload) => {
                delivered.push({ header, payload: new Uint8Array(payload) });
                if (header.id - 1 === switchAfter) reader.readAhead();
              },
            },
            undefined,
          );
          if (switchAfter === -1) reader.readAhead();
          for (let at = 0, i = 0; at < wire.length; i++) {
            const into = reader.nextBuffer();
            const count = Math.min(into.length, wire.length - at, readSizes[i % readSizes.length] as number);
            const ownTarget = [...targets.values()].some((target) => target.buffer === into.buffer);
            for (const { from, to } of placed) {
              const overlaps = at < to && at + count > from;
              assert.ok(
                !overlaps || ownTarget,
                `a read of [${at}, ${at + count}) took placed bytes [${from}, ${to})`,
              );
            }
            into.set(wire.subarray(at, at + count));
            at += count;
            reader.onRead(count);
          }
          assert.ok(reader.atBoundary);
          assert.equal(delivered.length, frames.length);
          delivered.forEach(({ header, payload }, i) => {
            const spec = frames[i] as (typeof frames)[number];
            assert.equal(header.type, spec.type);
            assert.equal(header.length, spec.payload.length);
            if (!carriesPlacedPayload(spec.type)) assert.deepEqual(payload, spec.payload);
            else if (spec.discard || spec.payload.length === 0) assert.equal(payload.length, 0);
            else assert.deepEqual(targets.get(i + 1), spec.payload);
          });
          return true;
        },
      ),
      RUNS / 5,
    );
  });

  it('decodeHello: mutated HELLOs decode or are refused with EPROTO', () => {
    const hello = encodeHello(clientHello());
    check(
      fc.property(fc.array(mutation, { maxLength: 4 }), (mutations) =>
        refusedCleanly(() => decodeHello(mutate([hello], mutations, [0])), ['EPROTO']),
      ),
    );
  });

  it('decodeDescriptor: mutated descriptors and other values decode or are refused with EINVAL', () => {
    const descriptor = encodeDescriptor({ key: 0x1234_5678_9abc_def0n, length: 4096, access: 3 });
    const anything = fc.oneof(
      fc.array(mutation, { maxLength: 4 }).map((mutations) => mutate([descriptor], mutations, [0])),
      fc.uint8Array({ minLength: 24, maxLength: 24 }),
      fc.anything(),
    );
    check(
      fc.property(anything, (value) =>
        refusedCleanly(() => {
          const remote = decodeDescriptor(value);
          assert.ok(Number.isSafeInteger(remote.length) && remote.length >= 0);
        }, ['EINVAL']),
      ),
    );
  });
});
