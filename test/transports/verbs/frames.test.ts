import * as assert from 'node:assert/strict';
import { FabricError } from '../../../src/api/errors.js';
import { decodeHeader, encodeHeader, FrameType, HEADER_SIZE } from '../../../src/protocol/frame.js';
import { FRAME_BYTES, RDMA_FRAMES } from '../../../src/transports/verbs/frames.js';

describe('verbs: the frames RDMA carries', () => {
  it('takes a Rendezvous whose segments fit one receive buffer, and refuses one more segment (EPROTO)', () => {
    const fits = FRAME_BYTES - HEADER_SIZE;
    assert.equal(
      decodeHeader(encodeHeader({ type: FrameType.Rendezvous, length: fits }), RDMA_FRAMES).length,
      fits,
    );
    assert.throws(
      () => decodeHeader(encodeHeader({ type: FrameType.Rendezvous, length: fits + 16 }), RDMA_FRAMES),
      (error: unknown) =>
        error instanceof FabricError && error.code === 'EPROTO' && /cannot carry/.test(error.message),
    );
  });

  it('refuses the frames only TCP carries at their header', () => {
    for (const type of [FrameType.Write, FrameType.WriteAck, FrameType.ReadRequest, FrameType.ReadResponse]) {
      assert.throws(
        () => decodeHeader(encodeHeader({ type }), RDMA_FRAMES),
        (error: unknown) => error instanceof FabricError && /is not carried over RDMA/.test(error.message),
      );
    }
  });
});
