import * as assert from 'node:assert/strict';
import { FabricError } from '../../src/api/errors.js';
import { MessageCredit } from '../../src/core/message-credit.js';
import { HEADER_SIZE } from '../../src/protocol/frame.js';

function throwsProtocolError(run: () => void, pattern: RegExp): void {
  assert.throws(
    run,
    (error: unknown) =>
      error instanceof FabricError && error.code === 'EPROTO' && pattern.test(error.message),
  );
}

describe('core: message credit', () => {
  it('costs a message its length plus its header', () => {
    assert.equal(MessageCredit.cost(0), HEADER_SIZE);
    assert.equal(MessageCredit.cost(100), 100 + HEADER_SIZE);
  });

  it("starts with the peer's window, spends it, and gets back what the peer returns", () => {
    const credit = new MessageCredit(1000);
    assert.equal(credit.available, 0);
    credit.open(500);
    assert.equal(credit.available, 500);
    credit.spend(MessageCredit.cost(100));
    assert.equal(credit.available, 500 - 132);
    credit.returned(132);
    assert.equal(credit.available, 500);
  });

  it('refuses credit returned beyond what was sent (EPROTO), and keeps its count', () => {
    const credit = new MessageCredit(1000);
    credit.open(500);
    credit.spend(200);
    throwsProtocolError(() => credit.returned(201), /returned more credit than it was sent/);
    assert.equal(credit.available, 300);
    credit.returned(200);
    assert.equal(credit.available, 500);
  });

  it('charges what the peer sends against the announced window: one byte more is a protocol violation', () => {
    const credit = new MessageCredit(2 * MessageCredit.cost(10));
    credit.charge(10);
    credit.charge(10);
    assert.equal(credit.peerHolds, 2 * MessageCredit.cost(10));
    throwsProtocolError(() => credit.charge(0), /more message bytes than its credit allows/);
  });

  it('owes what the application took, and returns it once: what the peer holds goes down by as much', () => {
    const credit = new MessageCredit(1000);
    credit.charge(50);
    credit.charge(60);
    assert.equal(credit.owing, 0);
    credit.consumed(50);
    assert.equal(credit.owing, MessageCredit.cost(50));
    assert.equal(credit.takeOwed(), MessageCredit.cost(50));
    assert.equal(credit.owing, 0);
    assert.equal(credit.takeOwed(), 0);
    assert.equal(credit.peerHolds, MessageCredit.cost(60));
    // Returned credit makes room in the window again.
    credit.charge(1000 - MessageCredit.cost(60) - HEADER_SIZE);
  });
});
