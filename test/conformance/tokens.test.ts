// Conformance, tokens: a shared secret both ends must hold.
import * as assert from 'node:assert/strict';
import { rejectsWith } from '../helpers.js';
import { forEachTransport } from './suite.js';

forEachTransport('tokens', ({ pair, listen, connect }) => {
  it('connect when both sides hold the same token', async () => {
    const p = await pair({ token: 'correct horse' });
    await p.client.send(Buffer.from('hi'));
    assert.equal(Buffer.from(await p.server.receive()).toString(), 'hi');
    await p.close();
  });

  for (const [name, clientToken] of [
    ['a wrong token', 'wrong'],
    ['no token', undefined],
  ] as const) {
    it(`reject a client with ${name} with EACCES; the server keeps serving`, async () => {
      const listener = await listen({ token: 'secret' });
      const accepted = listener.accept();
      const options = clientToken === undefined ? {} : { token: clientToken };
      await rejectsWith(connect(listener.port, options), 'EACCES');
      const good = await connect(listener.port, { token: 'secret' });
      const server = await accepted;
      await good.send(Buffer.from('ok'));
      assert.equal(Buffer.from(await server.receive()).toString(), 'ok');
      await Promise.all([good.close(), server.close(), listener.close()]);
    });
  }

  it('reject a server without the token the client expects with EACCES', async () => {
    const listener = await listen();
    await rejectsWith(connect(listener.port, { token: 'secret' }), 'EACCES');
    await listener.close();
  });
});
