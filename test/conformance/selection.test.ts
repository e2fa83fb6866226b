// Conformance, selection: forcing a transport this host cannot use, and invalid options and environment
// values. Each unavailable transport is tried once; the options on each usable one.
import * as assert from 'node:assert/strict';
import { connect, listen, transports } from '../../src/index.js';
import { HOST, rejectsWith } from '../helpers.js';
import { forEachTransport, suiteTitle } from './suite.js';

describe(suiteTitle('transports unavailable here'), () => {
  describe('selection', () => {
    for (const info of transports().filter((candidate) => !candidate.available)) {
      it(`forcing ${info.kind}, unavailable here, rejects with ENODEV and the reason`, async () => {
        const error = await rejectsWith(connect({ host: HOST, port: 1, transport: info.kind }), 'ENODEV');
        assert.ok(error.message.includes(info.reason as string));
        await rejectsWith(listen({ host: HOST, port: 0, transport: info.kind }), 'ENODEV');
      });
    }
  });
});

forEachTransport('selection', (transport) => {
  it('rejects invalid options and environment values with EINVAL naming them', async () => {
    const saved = process.env.FABRIC_POLL;
    process.env.FABRIC_POLL = 'fast';
    try {
      const error = await rejectsWith(connect({ host: HOST, port: 1 }), 'EINVAL');
      assert.match(error.message, /FABRIC_POLL=fast/);
      assert.match(error.message, /event, spin, hybrid/);
      // an explicit option beats the variable
      const listener = await transport.listen({ pollMode: 'event' });
      await listener.close();
    } finally {
      if (saved === undefined) delete process.env.FABRIC_POLL;
      else process.env.FABRIC_POLL = saved;
    }
    await rejectsWith(connect({ host: HOST, port: 0 }), 'EINVAL');
    await rejectsWith(connect({ host: '', port: 5 }), 'EINVAL');
    await rejectsWith(listen({ maxMessageSize: 0 }), 'EINVAL');
  });
});
