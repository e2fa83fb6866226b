// The send queue of a verbs queue pair, against a fake endpoint that records what is posted.
import * as assert from 'node:assert/strict';
import type { NativeEndpoint } from '../../../src/transports/verbs/native.js';
import {
  OP_READ,
  OP_SEND,
  OP_WRITE,
  WC_FLUSHED,
  type Work,
  WorkQueue,
} from '../../../src/transports/verbs/work-queue.js';

/** ibv_send_flags, as the provider sees them. */
const FENCE = 1;
const SIGNALED = 2;
const INLINE = 8;
const EIO = 5;

interface Posted {
  id: number;
  opcode: number;
  length: number;
  flags: number;
  /** The `tag` of the work, from its address. */
  tag: number;
}

/** An endpoint whose postSend records each post and answers `errno` (0: posted). */
function fakeEndpoint(): { endpoint: NativeEndpoint; posted: Posted[]; refuseWith(errno: number): void } {
  const posted: Posted[] = [];
  let errno = 0;
  const endpoint = {
    postSend(
      id: number,
      opcode: number,
      address: bigint,
      length: number,
      _lkey: number,
      _remoteAddress: bigint,
      _rkey: number,
      flags: number,
    ): number {
      if (errno !== 0) return errno;
      posted.push({ id, opcode, length, flags, tag: Number(address) });
      return 0;
    },
  } as unknown as NativeEndpoint;
  return { endpoint, posted, refuseWith: (value) => (errno = value) };
}

/** Work tagged `tag` (its address) whose completion statuses go to `settled` as [tag, status]. */
function work(tag: number, settled: [number, number][], opcode = OP_WRITE, length = 4096): Work {
  return {
    opcode,
    address: BigInt(tag),
    length,
    lkey: 1,
    remoteAddress: 0n,
    rkey: 2,
    done: (status) => settled.push([tag, status]),
  };
}

interface Setup {
  queue: WorkQueue;
  posted: Posted[];
  settled: [number, number][];
  postErrors: number[];
  refuseWith(errno: number): void;
}

function setup(depth = 4, idLimit = 1000, maxInline = 64): Setup {
  const { endpoint, posted, refuseWith } = fakeEndpoint();
  const postErrors: number[] = [];
  const queue = new WorkQueue(endpoint, depth, idLimit, maxInline, (errno) => postErrors.push(errno));
  return { queue, posted, settled: [], postErrors, refuseWith };
}

/** Completes the posted work tagged `tag` with `status`. */
function complete(s: Setup, tag: number, status = 0): void {
  const entry = s.posted.find((p) => p.tag === tag);
  assert.ok(entry, `work ${tag} was posted`);
  s.queue.complete(entry.id, status);
}

describe('WorkQueue (the send queue of a verbs queue pair)', () => {
  it('posts work in call order, signaled, with distinct ids, and settles each with its completion status', () => {
    const s = setup();
    for (const tag of [1, 2, 3]) s.queue.post(work(tag, s.settled));
    assert.deepEqual(
      s.posted.map((p) => p.tag),
      [1, 2, 3],
    );
    assert.equal(new Set(s.posted.map((p) => p.id)).size, 3);
    for (const p of s.posted) assert.equal(p.flags & SIGNALED, SIGNALED);
    assert.equal(s.queue.idle, false);
    complete(s, 2, 0);
    complete(s, 1, 12);
    assert.deepEqual(s.settled, [
      [2, 0],
      [1, 12],
    ]);
    complete(s, 3);
    assert.equal(s.queue.idle, true);
  });

  it('settles each work once: a repeated or unknown completion id is ignored', () => {
    const s = setup();
    s.queue.post(work(1, s.settled));
    const id = (s.posted[0] as Posted).id;
    s.queue.complete(id, 0);
    s.queue.complete(id, 0);
    s.queue.complete(id + 100, 0);
    assert.deepEqual(s.settled, [[1, 0]]);
    assert.equal(s.queue.idle, true);
  });

  it('keeps at most depth in flight; the rest wait and are posted in order as completions make room', () => {
    const s = setup(2);
    for (const tag of [1, 2, 3, 4, 5]) s.queue.post(work(tag, s.settled));
    assert.deepEqual(
      s.posted.map((p) => p.tag),
      [1, 2],
    );
    complete(s, 1);
    assert.deepEqual(
      s.posted.map((p) => p.tag),
      [1, 2, 3],
    );
    complete(s, 3);
    complete(s, 2);
    assert.deepEqual(
      s.posted.map((p) => p.tag),
      [1, 2, 3, 4, 5],
    );
    // Work posted while others wait goes behind them, even when there is room by then.
    s.queue.post(work(6, s.settled));
    assert.deepEqual(
      s.posted.map((p) => p.tag),
      [1, 2, 3, 4, 5],
    );
    complete(s, 4);
    assert.deepEqual(
      s.posted.map((p) => p.tag),
      [1, 2, 3, 4, 5, 6],
    );
    complete(s, 5);
    complete(s, 6);
    assert.deepEqual(
      s.settled.map(([tag]) => tag),
      [1, 3, 2, 4, 5, 6],
    );
    assert.equal(s.queue.idle, true);
  });

  it('keeps ids below idLimit, reusing them in turn', () => {
    const s = setup(2, 4);
    for (let tag = 1; tag <= 7; tag++) {
      s.queue.post(work(tag, s.settled));
      complete(s, tag);
    }
    assert.deepEqual(
      s.posted.map((p) => p.id),
      [1, 2, 3, 1, 2, 3, 1],
    );
    assert.equal(s.settled.length, 7);
  });

  it('sends small messages inline, and fences a SEND behind RDMA READs still in flight', () => {
    const s = setup(8, 1000, 64);
    s.queue.post(work(1, s.settled, OP_SEND, 64));
    s.queue.post(work(2, s.settled, OP_SEND, 65));
    s.queue.post(work(3, s.settled, OP_WRITE, 8));
    s.queue.post(work(4, s.settled, OP_READ, 8));
    s.queue.post(work(5, s.settled, OP_WRITE, 4096));
    s.queue.post(work(6, s.settled, OP_SEND, 4096));
    const flags = new Map(s.posted.map((p) => [p.tag, p.flags]));
    assert.equal(flags.get(1), SIGNALED | INLINE);
    assert.equal(flags.get(2), SIGNALED);
    assert.equal(flags.get(3), SIGNALED, 'only a SEND goes inline');
    assert.equal(flags.get(4), SIGNALED);
    assert.equal(flags.get(5), SIGNALED, 'a WRITE is not fenced');
    assert.equal(flags.get(6), SIGNALED | FENCE, 'a SEND behind a READ in flight is fenced');
    complete(s, 4);
    s.queue.post(work(7, s.settled, OP_SEND, 4096));
    assert.equal(s.posted.at(-1)?.flags, SIGNALED, 'no fence once the READ completed');
  });

  it('onIdle resolves at once when idle, else when the last work completes', () => {
    const s = setup(1);
    let idle = 0;
    s.queue.onIdle(() => idle++);
    assert.equal(idle, 1);
    s.queue.post(work(1, s.settled));
    s.queue.post(work(2, s.settled));
    idle = 0;
    s.queue.onIdle(() => idle++);
    assert.equal(idle, 0);
    complete(s, 1);
    assert.equal(idle, 0, 'work 2 was still waiting');
    complete(s, 2);
    assert.equal(idle, 1);
  });

  it('flush settles every unfinished work as flushed, in flight and waiting, and leaves the queue idle', () => {
    const s = setup(2);
    for (const tag of [1, 2, 3, 4]) s.queue.post(work(tag, s.settled, tag === 1 ? OP_READ : OP_WRITE));
    complete(s, 2);
    let idle = 0;
    s.queue.onIdle(() => idle++);
    s.queue.flush();
    assert.deepEqual(s.settled, [
      [2, 0],
      [1, WC_FLUSHED],
      [3, WC_FLUSHED],
      [4, WC_FLUSHED],
    ]);
    assert.equal(s.queue.idle, true);
    assert.equal(idle, 1, 'a pending onIdle resolves');
    // Completions of flushed work that still arrive settle nothing again.
    for (const p of s.posted) s.queue.complete(p.id, 0);
    assert.equal(s.settled.length, 4);
    // The READ that was in flight no longer fences a SEND.
    s.queue.post(work(5, s.settled, OP_SEND, 4096));
    assert.equal(s.posted.at(-1)?.flags, SIGNALED);
  });

  it('a refused post settles its work with the errno and reports it; the queue goes on with the next', () => {
    const s = setup(1);
    s.refuseWith(EIO);
    s.queue.post(work(1, s.settled));
    assert.deepEqual(s.settled, [[1, EIO]]);
    assert.deepEqual(s.postErrors, [EIO]);
    assert.equal(s.queue.idle, true, 'refused work is not in flight');
    s.refuseWith(0);
    s.queue.post(work(2, s.settled));
    s.queue.post(work(3, s.settled));
    s.queue.post(work(4, s.settled));
    // What waited is refused when a completion makes room for it: each is settled and reported in turn.
    s.refuseWith(EIO);
    let idle = 0;
    s.queue.onIdle(() => idle++);
    complete(s, 2);
    assert.deepEqual(s.settled.slice(1), [
      [2, 0],
      [3, EIO],
      [4, EIO],
    ]);
    assert.deepEqual(s.postErrors, [EIO, EIO, EIO]);
    assert.equal(s.queue.idle, true);
    assert.equal(idle, 1);
  });
});
