// How a connection finds shared memory: 'auto' takes it for a peer on this host whose listener offers it and
// TCP otherwise; listeners on two addresses of one port, or on a wildcard, are each reached by their own
// clients; FABRIC_SHM_DIR puts the socket in a directory; a forced shm that cannot reach its peer says why.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Connection, connect, type Listener, listen } from '../../../src/index.js';
import { rejectsWith, usableTransports } from '../../helpers.js';

/** Connects to `listener` at `host` and says which transport was used and whether that listener answered. */
async function reachWith(
  listener: Listener,
  host: string,
  options: Parameters<typeof connect>[0] extends infer O ? Partial<O> : never = {},
): Promise<string> {
  const [client, server] = await Promise.all([
    connect({ host, port: listener.port, transport: 'auto', ...options }),
    listener.accept(),
  ]);
  await client.send(Buffer.from('which'));
  assert.equal(Buffer.from(await server.receive()).toString(), 'which');
  const used = client.transport;
  assert.equal(server.transport, used);
  await Promise.all([client.close(), server.close()]);
  return used;
}

(usableTransports().includes('shm') ? describe : describe.skip)('shm: rendezvous', () => {
  const open: Listener[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((listener) => listener.close()));
  });
  const listening = async (options: Parameters<typeof listen>[0]) => {
    const listener = await listen({ transport: 'auto', ...options });
    open.push(listener);
    return listener;
  };

  it("'auto' uses shm for a peer on this host whose listener offers it, and TCP when asked or not offered", async () => {
    const auto = await listening({ host: '127.0.0.1' });
    assert.equal(await reachWith(auto, '127.0.0.1'), 'shm');
    assert.equal(await reachWith(auto, '127.0.0.1', { transport: 'tcp' }), 'tcp');
    const tcpOnly = await listening({ host: '127.0.0.1', transport: 'tcp' });
    assert.equal(await reachWith(tcpOnly, '127.0.0.1'), 'tcp');
    const refused = await rejectsWith(
      connect({ host: '127.0.0.1', port: tcpOnly.port, transport: 'shm' }),
      'ECONNREFUSED',
    );
    assert.match(refused.message, /no listener on this host offers shared memory/);
  });

  it('reaches a listener on the wildcard address through its own address', async () => {
    const wildcard = await listening({ host: '0.0.0.0' });
    assert.equal(await reachWith(wildcard, '127.0.0.1'), 'shm');
  });

  it('keeps listeners on two addresses of one port apart: each client reaches its own', async () => {
    const first = await listening({ host: '127.0.0.1' });
    const second = await listening({ host: '127.0.0.2', port: first.port });
    const [client, server] = await Promise.all([
      connect({ host: '127.0.0.2', port: first.port, transport: 'auto' }),
      second.accept(),
    ]);
    assert.equal(client.transport, 'shm');
    await Promise.all([client.close(), server.close()]);
    assert.equal(await reachWith(first, '127.0.0.1'), 'shm');
  });

  it('puts its socket in FABRIC_SHM_DIR, replaces a stale one there, and removes it on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fabric-shm-'));
    try {
      const probe = await listening({ host: '127.0.0.1', transport: 'tcp' });
      const port = probe.port;
      await probe.close();
      open.pop();
      writeFileSync(join(dir, `fabric-transport-127.0.0.1-${port}.sock`), 'stale');
      const listener = await listening({ host: '127.0.0.1', port, shmDir: dir });
      assert.deepEqual(readdirSync(dir), [`fabric-transport-127.0.0.1-${port}.sock`]);
      assert.equal(await reachWith(listener, '127.0.0.1', { shmDir: dir }), 'shm');
      // A client that looks elsewhere finds no socket: TCP.
      assert.equal(await reachWith(listener, '127.0.0.1'), 'tcp');
      await listener.close();
      open.pop();
      assert.equal(existsSync(join(dir, `fabric-transport-127.0.0.1-${port}.sock`)), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a forced shm to another host with ENODEV and the reason, sending nothing', async () => {
    const error = await rejectsWith(connect({ host: '192.0.2.1', port: 9, transport: 'shm' }), 'ENODEV');
    assert.match(error.message, /not an address of this host/);
  });

  it('keeps serving TCP clients beside shm ones on one auto listener', async () => {
    const listener = await listening({ host: '127.0.0.1' });
    const connections: Connection[] = [];
    for (const transport of ['shm', 'tcp', 'shm', 'tcp'] as const) {
      const [client, server] = await Promise.all([
        connect({ host: '127.0.0.1', port: listener.port, transport }),
        listener.accept(),
      ]);
      assert.equal(server.transport, transport);
      connections.push(client, server);
    }
    for (let i = 0; i < connections.length; i += 2) {
      await (connections[i] as Connection).send(Buffer.from(`n${i}`));
      assert.equal(Buffer.from(await (connections[i + 1] as Connection).receive()).toString(), `n${i}`);
    }
    await Promise.all(connections.map((connection) => connection.close()));
  });
});
