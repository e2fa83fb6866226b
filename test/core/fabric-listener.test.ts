// The listener's fan-in of acceptors, with fake acceptors and connections in their handshake.
import * as assert from 'node:assert/strict';
import type { Connection } from '../../src/api/connection.js';
import { FabricError } from '../../src/api/errors.js';
import { type Acceptor, FabricListener, type IncomingConnection } from '../../src/core/fabric-listener.js';

/** A connection in its handshake, which the test completes, fails or closes. */
interface FakeConnection {
  connection: IncomingConnection;
  name: string;
  /** The handshake completed. */
  succeed(): void;
  /** The handshake failed: the connection closes, as a real one does. */
  fail(): void;
  /** The connection closed (by its peer, say). */
  end(): void;
  closes(): number;
  refusals: FabricError[];
}

function incoming(name: string): FakeConnection {
  let succeed!: () => void;
  let failHandshake!: (error: Error) => void;
  let closed!: () => void;
  const ready = new Promise<void>((resolve, reject) => {
    succeed = resolve;
    failHandshake = reject;
  });
  const whenClosed = new Promise<void>((resolve) => {
    closed = resolve;
  });
  let closes = 0;
  const refusals: FabricError[] = [];
  const connection = {
    name,
    ready,
    whenClosed,
    refuse: (reason: FabricError) => {
      refusals.push(reason);
      closed();
    },
    close: async () => {
      closes++;
      closed();
    },
  } as unknown as IncomingConnection;
  return {
    connection,
    name,
    succeed,
    fail: () => {
      failHandshake(new FabricError('EPROTO', 'bad handshake'));
      closed();
    },
    end: closed,
    closes: () => closes,
    refusals,
  };
}

/** An acceptor whose stop() the test can see, and hold until it lets it finish. */
function acceptor(): { acceptor: Acceptor; stops: () => number; finish: () => void } {
  let stops = 0;
  let finish!: () => void;
  const stopped = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    acceptor: {
      stop: () => {
        stops++;
        return stopped;
      },
    },
    stops: () => stops,
    finish,
  };
}

const nameOf = (connection: Connection) => (connection as unknown as { name: string }).name;

/** Lets the promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function rejectsClosed(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof FabricError && error.code === 'ECLOSED');
}

describe('FabricListener (the acceptors of one listener)', () => {
  it('hands out each connection once its handshake completed, in the order they complete', async () => {
    const listener = new FabricListener('127.0.0.1', 4000, 10);
    const [a, b, c] = [incoming('a'), incoming('b'), incoming('c')];
    // From two acceptors (TCP and RDMA, say): the listener does not tell them apart.
    for (const fake of [a, b, c]) listener.admit(fake.connection);
    const first = listener.accept();
    b.succeed();
    assert.equal(nameOf(await first), 'b');
    c.succeed();
    a.succeed();
    await settle();
    assert.equal(nameOf(await listener.accept()), 'c');
    assert.equal(nameOf(await listener.accept()), 'a');
    await listener.close();
  });

  it('drops a connection whose handshake failed', async () => {
    const listener = new FabricListener('127.0.0.1', 4000, 10);
    const [bad, good] = [incoming('bad'), incoming('good')];
    listener.admit(bad.connection);
    listener.admit(good.connection);
    const accepted = listener.accept();
    bad.fail();
    await settle();
    good.succeed();
    assert.equal(nameOf(await accepted), 'good');
    await listener.close();
    assert.equal(bad.closes(), 0, 'it closed itself; the listener holds it no more');
  });

  it('turns a connection away with EBUSY while it holds maxConnections, and admits again after one closed', async () => {
    const listener = new FabricListener('127.0.0.1', 4000, 2);
    const [a, b, c, d] = [incoming('a'), incoming('b'), incoming('c'), incoming('d')];
    listener.admit(a.connection);
    listener.admit(b.connection);
    a.succeed();
    assert.equal(nameOf(await listener.accept()), 'a');
    // Accepted (a) and in its handshake (b) both count.
    assert.equal(listener.refusal()?.code, 'EBUSY');
    listener.admit(c.connection);
    assert.equal(c.refusals.length, 1);
    const [refusal] = c.refusals;
    assert.ok(refusal instanceof FabricError);
    assert.equal(refusal.code, 'EBUSY');
    assert.match(refusal.message, /127\.0\.0\.1:4000 .* maximum of 2 connections/);
    a.end();
    await settle();
    assert.equal(listener.refusal(), undefined);
    listener.admit(d.connection);
    assert.equal(d.refusals.length, 0);
    d.succeed();
    assert.equal(nameOf(await listener.accept()), 'd');
    // A connection whose handshake failed no longer counts either.
    b.fail();
    await settle();
    const e = incoming('e');
    listener.admit(e.connection);
    assert.equal(e.refusals.length, 0);
    await listener.close();
  });

  it('close() stops every acceptor and closes the connections not accepted yet; accepted ones stay open', async () => {
    const listener = new FabricListener('127.0.0.1', 4000, 10);
    const acceptors = [acceptor(), acceptor()];
    for (const { acceptor: one } of acceptors) listener.addAcceptor(one);
    const [accepted, notTaken, handshaking] = [
      incoming('accepted'),
      incoming('not taken'),
      incoming('handshaking'),
    ];
    for (const fake of [accepted, notTaken, handshaking]) listener.admit(fake.connection);
    accepted.succeed();
    assert.equal(nameOf(await listener.accept()), 'accepted');
    notTaken.succeed();
    await settle();

    let closed = false;
    const closing = listener.close().then(() => {
      closed = true;
    });
    assert.equal(listener.closed, true);
    assert.deepEqual(
      acceptors.map(({ stops }) => stops()),
      [1, 1],
    );
    await settle();
    assert.equal(closed, false, 'close() waits for the acceptors to stop');
    for (const { finish } of acceptors) finish();
    await closing;
    assert.equal(notTaken.closes(), 1, 'queued for accept() and never taken');
    assert.equal(handshaking.closes(), 1, 'still in its handshake');
    assert.equal(accepted.closes(), 0);
    await rejectsClosed(listener.accept());
    assert.equal(listener.close(), listener.close(), 'closing again is the same close');
    assert.deepEqual(
      acceptors.map(({ stops }) => stops()),
      [1, 1],
    );
  });

  it('hands connections to a for await over the listener, which close() ends, as it ends a waiting accept()', async () => {
    const listener = new FabricListener('127.0.0.1', 4000, 10);
    const seen: string[] = [];
    const iterating = (async () => {
      for await (const connection of listener) seen.push(nameOf(connection));
    })();
    for (const name of ['a', 'b']) {
      const fake = incoming(name);
      listener.admit(fake.connection);
      fake.succeed();
    }
    await settle();
    assert.deepEqual(seen, ['a', 'b']);
    const waiting = rejectsClosed(listener.accept());
    await listener.close();
    await iterating;
    await waiting;
    await rejectsClosed(listener.accept());
  });

  it('closes a connection admitted after close(), or whose handshake completes after it', async () => {
    const listener = new FabricListener('127.0.0.1', 4000, 10);
    const late = incoming('late');
    listener.admit(late.connection);
    await listener.close();
    assert.equal(late.closes(), 1, 'in its handshake at the close');
    late.succeed();
    await settle();
    assert.equal(late.closes(), 2, 'its handshake completed after the close');
    const after = incoming('after');
    listener.admit(after.connection);
    assert.equal(after.closes(), 1);
    assert.equal(after.refusals.length, 0, 'closed, not refused');
    await rejectsClosed(listener.accept());
  });
});
