import * as assert from 'node:assert/strict';
import { MessageCredit } from '../../src/core/message-credit.js';
import { type UserOperation, UserOperations } from '../../src/core/user-operations.js';

/** An operation that records when it starts (when `canStart` lets it) and when it is rejected. */
function operation(
  name: string,
  cost: number,
  log: string[],
  canStart: () => boolean = () => true,
): UserOperation {
  return {
    cost,
    start: () => {
      if (!canStart()) return false;
      log.push(`start ${name}`);
      return true;
    },
    reject: (error) => log.push(`reject ${name}: ${error.message}`),
  };
}

describe('core: the ordered queue of user operations', () => {
  it('starts operations at once while credit covers them, spending it', () => {
    const credit = new MessageCredit(0);
    credit.open(100);
    const queue = new UserOperations(credit);
    const log: string[] = [];
    assert.equal(queue.clearFor(60), true);
    queue.push(operation('a', 60, log));
    queue.push(operation('b', 0, log));
    assert.deepEqual(log, ['start a', 'start b']);
    assert.equal(credit.available, 40);
    assert.equal(queue.length, 0);
  });

  it('keeps call order: nothing overtakes a message waiting for credit, not even a free operation', () => {
    const credit = new MessageCredit(0);
    credit.open(200);
    const queue = new UserOperations(credit);
    const log: string[] = [];
    queue.push(operation('first', 150, log));
    queue.push(operation('big', 100, log));
    queue.push(operation('write', 0, log));
    queue.push(operation('small', 10, log));
    assert.deepEqual(log, ['start first']);
    assert.equal(queue.clearFor(0), false);
    credit.returned(150);
    queue.pump();
    assert.deepEqual(log, ['start first', 'start big', 'start write', 'start small']);
    assert.equal(credit.available, 200 - 110);
  });

  it('leaves an operation first when it cannot start yet, without spending its credit', () => {
    const credit = new MessageCredit(0);
    credit.open(100);
    const queue = new UserOperations(credit);
    const log: string[] = [];
    let slot = false;
    queue.push(operation('a', 30, log, () => slot));
    queue.push(operation('b', 30, log));
    assert.deepEqual(log, []);
    assert.equal(credit.available, 100);
    slot = true;
    queue.pump();
    assert.deepEqual(log, ['start a', 'start b']);
    assert.equal(credit.available, 40);
  });

  it('finishes the pass when an operation pumps again from its start()', () => {
    const credit = new MessageCredit(0);
    credit.open(100);
    const queue = new UserOperations(credit);
    const log: string[] = [];
    queue.push({
      cost: 0,
      start: () => {
        log.push('start first');
        queue.pump();
        return true;
      },
      reject: () => {},
    });
    queue.push(operation('second', 0, log));
    assert.deepEqual(log, ['start first', 'start second']);
  });

  it('rejects every operation still waiting, once, when the connection fails', () => {
    const credit = new MessageCredit(0);
    const queue = new UserOperations(credit);
    const log: string[] = [];
    queue.push(operation('a', 10, log));
    queue.push(operation('b', 0, log));
    queue.rejectAll(new Error('gone'));
    queue.rejectAll(new Error('again'));
    assert.deepEqual(log, ['reject a: gone', 'reject b: gone']);
    assert.equal(queue.length, 0);
  });

  it('rejects an operation whose start throws, keeps its credit, and goes on with the next', () => {
    const credit = new MessageCredit(0);
    credit.open(100);
    const queue = new UserOperations(credit);
    const log: string[] = [];
    queue.push({
      cost: 40,
      start: () => {
        throw new Error('cannot write');
      },
      reject: (error) => log.push(`reject: ${error.message}`),
    });
    queue.push(operation('next', 10, log));
    assert.deepEqual(log, ['reject: cannot write', 'start next']);
    assert.equal(credit.available, 90);
  });
});
