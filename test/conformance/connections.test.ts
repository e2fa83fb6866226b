// Conformance, connections: establishing, accepting, refusing and closing them, and a peer that dies.
import * as assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { nativePart } from '../../src/core/native-addon.js';
import { type Connection, register } from '../../src/index.js';
import { openDescriptors } from '../descriptors.js';
import { atLeast, HOST, rejectsWith, sleep, within } from '../helpers.js';
import { forEachTransport } from './suite.js';

forEachTransport('connections', ({ kind, pair, listen, connect, dial }) => {
  it('connects, reports the transport in use and closes on both sides', async () => {
    const p = await pair();
    assert.equal(p.client.transport, kind);
    assert.equal(p.server.transport, kind);
    await p.client.close();
    await within(2000, rejectsWith(p.server.receive(), 'ECLOSED'), 'server sees the close');
    assert.equal(p.server.closed, true);
    await p.close();
  });

  it('accepts through async iteration, and ends the iteration on close', async () => {
    const listener = await listen();
    const accepted: Connection[] = [];
    const loop = (async () => {
      for await (const connection of listener) accepted.push(connection);
    })();
    const clients = await Promise.all([1, 2, 3].map(() => connect(listener.port)));
    while (accepted.length < 3) await sleep(5);
    await listener.close();
    await within(2000, loop, 'listener iteration');
    await Promise.all([...clients, ...accepted].map((connection) => connection.close()));
  });

  it('rejects a pending accept() with ECLOSED when the listener closes', async () => {
    const listener = await listen();
    const pending = listener.accept();
    await listener.close();
    await rejectsWith(pending, 'ECLOSED');
    await rejectsWith(listener.accept(), 'ECLOSED');
  });

  it('rejects with ECONNREFUSED when nobody listens', async () => {
    const listener = await listen();
    const port = listener.port;
    await listener.close();
    await rejectsWith(connect(port), 'ECONNREFUSED');
  });

  it('close() is idempotent, never hangs, and later calls reject with ECLOSED', async () => {
    const p = await pair();
    const region = register(new Uint8Array(16));
    await within(3000, Promise.all([p.client.close(), p.client.close()]), 'double close');
    await within(3000, p.client.close(), 'third close');
    await rejectsWith(p.client.send(new Uint8Array(1)), 'ECLOSED');
    await rejectsWith(p.client.receive(), 'ECLOSED');
    await rejectsWith(p.client.write(region, region.descriptor), 'ECLOSED');
    await rejectsWith(p.client.read(region, region.descriptor), 'ECLOSED');
    await p.close();
  });

  it('rejects every pending operation when the connection closes locally', async () => {
    const p = await pair({ maxMessageSize: 1024, maxBufferedBytes: 64 << 10 });
    const region = register(new Uint8Array(4096));
    const receive = p.client.receive();
    // Sends beyond the peer's window wait for credit, and the one-sided operations queue behind them.
    const sends = Array.from({ length: 1000 }, () => p.client.send(new Uint8Array(1024)));
    const write = p.client.write(region, region.descriptor);
    const read = p.client.read(region, region.descriptor);
    const close = p.client.close();
    await rejectsWith(receive, 'ECLOSED');
    const outcomes = await Promise.allSettled(sends);
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    assert.ok(rejected.length > 0, 'sends beyond the window were pending');
    for (const outcome of rejected) assert.equal((outcome.reason as { code?: string }).code, 'ECLOSED');
    await rejectsWith(write, 'ECLOSED');
    await rejectsWith(read, 'ECLOSED');
    await within(3000, close, 'close');
    region.deregister();
    await p.close();
  });

  it('rejects pending operations within a second when the peer process is killed', async function () {
    this.timeout(atLeast(this.timeout(), 30000));
    const listener = await listen();
    const child = fork(join(__dirname, '..', 'fixtures', 'peer.js'), [HOST, String(listener.port), kind], {
      stdio: 'inherit',
    });
    try {
      const connection = await within(20000, listener.accept(), 'child connection');
      const descriptor = await connection.receive();
      const local = register(new Uint8Array(1 << 20));
      await connection.send(Buffer.from('freeze'));
      assert.equal(Buffer.from(await connection.receive()).toString(), 'frozen');
      const read = connection.read(local, descriptor);
      const receive = connection.receive();
      read.catch(() => {});
      receive.catch(() => {});
      await sleep(100);
      const killedAt = performance.now();
      child.kill('SIGKILL');
      const [readError, receiveError] = await Promise.all([
        within(
          1000,
          read.then(
            () => undefined,
            (error: unknown) => error,
          ),
          'pending read',
        ),
        within(
          1000,
          receive.then(
            () => undefined,
            (error: unknown) => error,
          ),
          'pending receive',
        ),
      ]);
      assert.ok(performance.now() - killedAt < 1000);
      for (const error of [readError, receiveError]) {
        assert.ok(
          ['ECONNRESET', 'ECLOSED'].includes((error as { code?: string })?.code ?? ''),
          String(error),
        );
      }
      await rejectsWith(connection.send(new Uint8Array(1)), 'ECLOSED');
      await rejectsWith(connection.read(local, descriptor), 'ECLOSED');
      await connection.close();
    } finally {
      child.kill('SIGKILL');
      await listener.close();
    }
  });

  it('frees what it holds: many connect/close cycles leave no open handles', async function () {
    this.timeout(atLeast(this.timeout(), 60000));
    const listener = await listen();
    // TCP sockets, and the RDMA-CM ids (each with its queue pair, CQ and channel) the addon holds.
    const sockets = () => {
      const addon = nativePart<{ status?(): { endpoints?: number } }>();
      const endpoints = typeof addon === 'string' ? 0 : (addon.status?.().endpoints ?? 0);
      return (
        process.getActiveResourcesInfo().filter((resource) => resource.startsWith('TCP')).length + endpoints
      );
    };
    const handlesBefore = sockets();
    const descriptorsBefore = openDescriptors();
    for (let i = 0; i < 50; i++) {
      const [client, server] = await dial(listener);
      await client.send(new Uint8Array(10));
      await server.receive();
      await Promise.all([client.close(), server.close()]);
    }
    await sleep(50);
    const handlesAfter = sockets();
    assert.ok(handlesAfter <= handlesBefore, `handles: ${handlesBefore} before, ${handlesAfter} after`);
    assert.ok(
      openDescriptors() <= descriptorsBefore,
      `descriptors: ${descriptorsBefore} before, ${openDescriptors()} after`,
    );
    await listener.close();
  });
});
