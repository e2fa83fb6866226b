// The queue behind a connection's inbox and a listener's accept queue.
import * as assert from 'node:assert/strict';
import { FabricError } from '../../src/api/errors.js';
import { AsyncQueue } from '../../src/util/async-queue.js';

/** A queue of numbers that records what its onTake and onWait callbacks are told. */
function recorded(): { queue: AsyncQueue<number>; taken: number[]; waits: () => number } {
  const taken: number[] = [];
  let waits = 0;
  const queue = new AsyncQueue<number>(
    'the queue is closed',
    (item) => taken.push(item),
    () => waits++,
  );
  return { queue, taken, waits: () => waits };
}

/** Asserts that `promise` rejects with ECLOSED, with `cause` as its cause when given. */
async function rejectsClosed(promise: Promise<unknown>, cause?: FabricError): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FabricError);
    assert.equal(error.code, 'ECLOSED');
    assert.equal(error.message, 'the queue is closed');
    assert.equal(error.cause, cause);
    return true;
  });
}

describe('AsyncQueue', () => {
  it('hands out items pushed before a take in order, counting them in size', async () => {
    const { queue, taken, waits } = recorded();
    queue.push(1);
    queue.push(2);
    queue.push(3);
    assert.equal(queue.size, 3);
    assert.equal(await queue.take(), 1);
    assert.equal(queue.size, 2);
    assert.equal(await queue.take(), 2);
    assert.equal(await queue.take(), 3);
    assert.equal(queue.size, 0);
    assert.deepEqual(taken, [1, 2, 3]);
    assert.equal(waits(), 0, 'no taker had to wait');
  });

  it('a take before the push waits for it: waiting counts it, onWait is told, and the push goes to it', async () => {
    const { queue, taken, waits } = recorded();
    const first = queue.take();
    const second = queue.take();
    assert.equal(queue.waiting, 2);
    assert.equal(waits(), 2);
    assert.deepEqual(taken, []);
    queue.push(7);
    assert.equal(queue.waiting, 1);
    assert.deepEqual(taken, [7], 'onTake is told as the item is handed over');
    queue.push(8);
    assert.deepEqual(await Promise.all([first, second]), [7, 8]);
    assert.equal(queue.waiting, 0);
    assert.equal(queue.size, 0, 'an item handed to a waiting taker is not queued');
  });

  it('end() rejects waiting takers with ECLOSED, still delivers the items pushed before, then ECLOSED', async () => {
    const waiting = recorded();
    const take = waiting.queue.take();
    waiting.queue.end();
    await rejectsClosed(take);
    assert.equal(waiting.queue.waiting, 0);

    const { queue, taken } = recorded();
    queue.push(1);
    queue.push(2);
    queue.end();
    assert.equal(await queue.take(), 1);
    assert.equal(await queue.take(), 2);
    await rejectsClosed(queue.take());
    await rejectsClosed(queue.take());
    assert.deepEqual(taken, [1, 2]);
  });

  it('end(reason) rejects the takers waiting with the reason; later takes with ECLOSED caused by it', async () => {
    const { queue } = recorded();
    const reason = new FabricError('ECONNRESET', 'the peer went away');
    const takes = [queue.take(), queue.take()];
    queue.end(reason);
    await Promise.all(takes.map((take) => assert.rejects(take, (error) => error === reason)));
    await rejectsClosed(queue.take(), reason);
  });

  it('end(reason) with nobody waiting: the first take after the queued items is told the reason, once', async () => {
    const { queue } = recorded();
    const reason = new FabricError('ETIMEDOUT', 'no keepalive');
    queue.push(1);
    queue.end(reason);
    assert.equal(await queue.take(), 1);
    await assert.rejects(queue.take(), (error) => error === reason);
    await rejectsClosed(queue.take(), reason);
  });

  it('a second end() changes nothing', async () => {
    const { queue } = recorded();
    queue.end();
    queue.end(new FabricError('ECONNRESET', 'too late'));
    await rejectsClosed(queue.take());
  });

  it('clear() drops and returns the queued items', async () => {
    const { queue, taken } = recorded();
    queue.push(1);
    queue.push(2);
    assert.deepEqual(queue.clear(), [1, 2]);
    assert.equal(queue.size, 0);
    assert.deepEqual(queue.clear(), []);
    queue.push(3);
    assert.equal(await queue.take(), 3);
    assert.deepEqual(taken, [3], 'cleared items were never taken');
  });

  it('iterates the items in order, pushed before and while iterating, until the queue ends', async () => {
    const { queue } = recorded();
    queue.push(1);
    queue.push(2);
    const seen: number[] = [];
    const done = (async () => {
      for await (const item of queue) seen.push(item);
    })();
    setImmediate(() => {
      queue.push(3);
      queue.push(4);
      queue.end();
    });
    await done;
    assert.deepEqual(seen, [1, 2, 3, 4]);
  });

  it('iteration throws the reason of an abnormal end, after the items queued before it', async () => {
    const { queue } = recorded();
    const reason = new FabricError('ECONNRESET', 'reset');
    queue.push(1);
    queue.end(reason);
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of queue) seen.push(item);
      })(),
      (error) => error === reason,
    );
    assert.deepEqual(seen, [1]);
  });

  it('an iteration left early takes nothing more from the queue', async () => {
    const { queue } = recorded();
    for (const item of [1, 2, 3]) queue.push(item);
    for await (const item of queue) {
      assert.equal(item, 1);
      break;
    }
    assert.equal(queue.size, 2);
    const iterator = queue[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 2, done: false });
    assert.deepEqual(await iterator.return?.(), { value: undefined, done: true });
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    assert.equal(queue.size, 1);
    assert.equal(await queue.take(), 3);
  });
});
