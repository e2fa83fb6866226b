// Conformance, limits: maxConnections, maxInFlight and maxBufferedBytes.
import * as assert from 'node:assert/strict';
import { type Connection, register } from '../../src/index.js';
import { pattern, rejectsWith, sleep, within } from '../helpers.js';
import { forEachTransport } from './suite.js';

forEachTransport('limits', ({ pair, listen, connect }) => {
  it('refuse a client beyond maxConnections with EBUSY, and admit one again once a connection closes', async () => {
    const listener = await listen({ maxConnections: 2 });
    const dial = () => connect(listener.port);
    const [first, second] = [await dial(), await dial()];
    const accepted = [await listener.accept(), await listener.accept()];
    const refused = await rejectsWith(dial(), 'EBUSY');
    assert.match(refused.message, /maximum of 2 connections/);
    await second.send(Buffer.from('still served'));
    assert.equal(Buffer.from(await (accepted[1] as Connection).receive()).toString(), 'still served');
    await first.close();
    await within(
      2000,
      rejectsWith((accepted[0] as Connection).receive(), 'ECLOSED'),
      'server sees the close',
    );
    const third = await dial();
    const thirdServer = await listener.accept();
    await third.send(Buffer.from('admitted'));
    assert.equal(Buffer.from(await thirdServer.receive()).toString(), 'admitted');
    await Promise.all([second, third, thirdServer, ...accepted].map((c) => c.close()));
    await listener.close();
  });

  it('reject an operation beyond maxInFlight with ENOBUFS, and the connection stays usable', async () => {
    const p = await pair({}, { maxInFlight: 4 });
    const remote = register(new Uint8Array(4096));
    const local = register(pattern(4096, 3));
    const inFlight = Array.from({ length: 4 }, () => p.client.write(local, remote.descriptor));
    await rejectsWith(p.client.read(local, remote.descriptor), 'ENOBUFS');
    await Promise.all(inFlight);
    await p.client.read(local, remote.descriptor);
    await p.client.send(Buffer.from('after'));
    assert.equal(Buffer.from(await p.server.receive()).toString(), 'after');
    await p.close();
  });

  it('hold at most maxBufferedBytes of messages for a slow reader; the rest arrive intact, in order', async () => {
    const size = 4096;
    const p = await pair({ maxMessageSize: size, maxBufferedBytes: 4 * size });
    let settled = 0;
    const sends = Array.from({ length: 40 }, (_, i) => p.client.send(pattern(size, i)).then(() => settled++));
    await sleep(200);
    assert.ok(settled < 40, `the reader read nothing, yet all ${settled} sends went through`);
    for (let i = 0; i < 40; i++) assert.deepEqual(new Uint8Array(await p.server.receive()), pattern(size, i));
    await Promise.all(sends);
    await p.close();
  });

  it('reject maxBufferedBytes smaller than one message with EINVAL', async () => {
    await rejectsWith(listen({ maxMessageSize: 4096, maxBufferedBytes: 4096 }), 'EINVAL');
  });
});
