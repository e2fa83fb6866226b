// What the verbs layer sees on a host with an RDMA device: the Soft-RoCE guest (npm run test:softroce), or
// any host with a RoCE or InfiniBand NIC, with FABRIC_TEST_DEVICE naming the device (and FABRIC_TEST_HOST its
// address). Skipped elsewhere.
import * as assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorCodeFromWire } from '../../../src/api/errors.js';
import { connect, type Listener, listen, register, stats, transports } from '../../../src/index.js';
import { CONNECT_MAGIC } from '../../../src/transports/verbs/connection.js';
import {
  type NativeMemoryRegion,
  type VerbsNative,
  verbsNative,
} from '../../../src/transports/verbs/native.js';
import {
  fabricTransport,
  fabricTransportWith,
  startFabricTransport,
  stopFabricTransport,
} from '../../fixtures/cli.js';
import { type Events, events } from '../../fixtures/native-events.js';
import { pair, rejectsWith, within } from '../../helpers.js';

const DEVICE = process.env.FABRIC_TEST_DEVICE;
const HOST = process.env.FABRIC_TEST_HOST;

describe('on a host with an RDMA device (FABRIC_TEST_DEVICE)', () => {
  before(function () {
    if (!DEVICE) this.skip();
  });

  it('loads rdma-core and lists the device, its active port and the GID of its address', () => {
    const infos = transports();
    const linked = infos.filter((info) => info.devices?.some((device) => device.name === DEVICE));
    assert.equal(
      linked.length,
      1,
      `${DEVICE} appears under exactly one RDMA transport: ${JSON.stringify(infos)}`,
    );
    const info = linked[0] as (typeof linked)[0];
    const device = info.devices?.find((candidate) => candidate.name === DEVICE);
    const port = device?.ports.find((candidate) => candidate.state === 'ACTIVE');
    assert.ok(port, `${DEVICE} has an ACTIVE port`);
    assert.equal(info.kind, port.linkLayer === 'Ethernet' ? 'roce' : 'ib');
    assert.ok((port.activeMtu ?? 0) >= 256, 'the MTU comes from libibverbs');
    if (HOST && info.kind === 'roce') {
      const gid = port.gids.find((candidate) => candidate.ipv4 === HOST);
      assert.ok(gid, `a GID for ${HOST}: ${JSON.stringify(port.gids)}`);
      assert.equal(gid.type, 'RoCE v2');
      assert.equal(String(gid.index), process.env.FABRIC_TEST_GID_INDEX ?? String(gid.index));
    }
  });

  it('honours FABRIC_DEVICE exclusions', () => {
    const rdma = transports({ device: `^${DEVICE}` }).filter((info) => info.kind !== 'tcp');
    assert.ok(rdma.every((info) => !info.devices?.some((device) => device.name === DEVICE)));
  });

  it('connects two native endpoints over RDMA-CM and moves data with SEND, RDMA WRITE and READ', async function () {
    this.timeout(120000);
    if (!HOST) this.skip();
    // In a child process, which must exit on its own once every endpoint is destroyed.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(__dirname, '..', '..', 'fixtures', 'verbs-smoke.js'), HOST as string],
      {
        timeout: 100000,
      },
    );
    const result = JSON.parse(stdout);
    const [IBV_WC_SUCCESS, IBV_WC_REM_ACCESS_ERR] = [0, 10];
    const [IBV_WC_SEND, IBV_WC_RDMA_WRITE, IBV_WC_RDMA_READ, IBV_WC_RECV] = [0, 1, 2, 128];
    assert.equal(result.requestData, 'hello', 'private data of the connect request');
    assert.equal(result.acceptData, 'welcome', 'private data of the accept');
    assert.deepEqual(result.send.slice(0, 3), [1, IBV_WC_SUCCESS, IBV_WC_SEND]);
    assert.deepEqual(result.recv, [7, IBV_WC_SUCCESS, IBV_WC_RECV, 14]);
    assert.equal(result.received, 'ping over rdma');
    assert.deepEqual(result.write.slice(0, 3), [2, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE]);
    assert.equal(result.written, true, 'the RDMA WRITE landed exactly where it was aimed');
    assert.deepEqual(result.read.slice(0, 3), [3, IBV_WC_SUCCESS, IBV_WC_RDMA_READ]);
    assert.equal(result.readBack, true);
    assert.deepEqual(
      result.badKey.slice(0, 2),
      [4, IBV_WC_REM_ACCESS_ERR],
      'a wrong rkey is refused by the responder',
    );
  });
});

describe('verbs: selection, devices and GIDs (FABRIC_TEST_DEVICE, FABRIC_TEST_HOST)', () => {
  before(function () {
    if (!DEVICE || !HOST) this.skip();
  });

  it("reports roce available on the device, and 'auto' uses it where it routes, TCP elsewhere", async () => {
    const roce = transports().find((info) => info.kind === 'roce');
    assert.equal(roce?.available, true, JSON.stringify(roce));
    const host = HOST as string;
    // Shared memory comes first for a peer on this host; a listener that takes only RDMA leaves 'auto' RoCE.
    const sameHost = transports().some((info) => info.kind === 'shm' && info.available) ? 'shm' : 'roce';
    const rdmaOnly = await listen({ host, port: 0, transport: 'roce' });
    const [rdmaClient, rdmaServer] = await Promise.all([
      connect({ host, port: rdmaOnly.port }),
      rdmaOnly.accept(),
    ]);
    assert.deepEqual([rdmaClient.transport, rdmaServer.transport], ['roce', 'roce']);
    await Promise.all([rdmaClient.close(), rdmaServer.close(), rdmaOnly.close()]);
    const both = await listen({ host, port: 0 });
    const [client, server] = await Promise.all([connect({ host, port: both.port }), both.accept()]);
    assert.deepEqual([client.transport, server.transport], [sameHost, sameHost]);
    // The same listener takes TCP on the same port.
    const [tcpClient, tcpServer] = await Promise.all([
      connect({ host, port: both.port, transport: 'tcp' }),
      both.accept(),
    ]);
    assert.deepEqual([tcpClient.transport, tcpServer.transport], ['tcp', 'tcp']);
    // A listener that takes only TCP: 'auto' falls back, and both ends agree.
    const tcpOnly = await listen({ host, port: 0, transport: 'tcp' });
    const [fallback, fallbackServer] = await Promise.all([
      connect({ host, port: tcpOnly.port }),
      tcpOnly.accept(),
    ]);
    assert.deepEqual([fallback.transport, fallbackServer.transport], ['tcp', 'tcp']);
    // Loopback: never RDMA.
    const local = await listen({ port: 0 });
    const loopback = await connect({ host: '127.0.0.1', port: local.port });
    assert.equal(loopback.transport, sameHost === 'shm' ? 'shm' : 'tcp');
    const named = await connect({ host: 'localhost', port: local.port });
    assert.notEqual(named.transport, 'roce', 'a name that resolves to loopback is loopback too');
    await named.close();
    await Promise.all(
      [client, server, tcpClient, tcpServer, fallback, fallbackServer, loopback].map((c) => c.close()),
    );
    await Promise.all([both.close(), tcpOnly.close(), local.close()]);
  });

  it("is what `fabric-transport info` shows, with the device 'auto' reaches a peer through", () => {
    const { status, stdout } = fabricTransport('info', '--peer', HOST as string, '--json');
    assert.equal(status, 0);
    const report = JSON.parse(stdout);
    assert.equal(report.transports.find((info: { kind: string }) => info.kind === 'roce').available, true);
    // Shared memory comes first for this host's own address, where the addon has it; RDMA otherwise.
    const shm = report.transports.some(
      (info: { kind: string; available: boolean }) => info.kind === 'shm' && info.available,
    );
    assert.equal(report.peer.transport, shm ? 'shm' : 'roce');
    if (!shm) assert.equal(report.peer.device, DEVICE);
    assert.match(fabricTransport('info').stdout, new RegExp(`${DEVICE} port 1: ACTIVE, Ethernet`));
  });

  it('benchmarks RoCE on the device address beside TCP, and pingpongs over it between two processes', async () => {
    const quick = ['--iterations', '3', '--rounds', '1', '--quiet', '--json'];
    const bench = fabricTransportWith(
      {},
      120_000,
      'bench',
      '--transport',
      'roce,tcp',
      '--pattern',
      'latency,read',
      '--sizes',
      '64K',
      '--no-peers',
      ...quick,
    );
    assert.equal(bench.status, 0, bench.stderr);
    const results = JSON.parse(bench.stdout);
    assert.deepEqual(
      results.endpoints.find((e: { transport: string }) => e.transport === 'roce'),
      {
        transport: 'roce',
        host: HOST,
        device: DEVICE,
        gidIndex: results.endpoints.find((e: { transport: string }) => e.transport === 'roce').gidIndex,
      },
    );
    assert.deepEqual(
      results.series.map((s: { name: string; pattern: string }) => `${s.name} ${s.pattern}`).sort(),
      // Latency in every poll mode, the other patterns in 'event' mode.
      [
        'roce hybrid latency',
        'roce latency',
        'roce read',
        'roce spin latency',
        'tcp hybrid latency',
        'tcp latency',
        'tcp read',
        'tcp spin latency',
      ],
    );
    const { child, match } = await startFabricTransport(
      /listening on [\d.]+:(\d+)/,
      'pingpong',
      '--listen',
      '--host',
      HOST as string,
      '--port',
      '0',
    );
    try {
      const pingpong = fabricTransportWith(
        {},
        120_000,
        'pingpong',
        '--connect',
        `${HOST}:${match[1]}`,
        '--transport',
        'roce',
        ...quick,
      );
      assert.equal(pingpong.status, 0, pingpong.stderr);
      assert.deepEqual(
        JSON.parse(pingpong.stdout).series.map(
          (s: { name: string; pattern: string }) => `${s.name} ${s.pattern}`,
        ),
        ['roce latency', 'roce write'],
      );
    } finally {
      assert.equal(await stopFabricTransport(child), 0);
    }
  });

  it('lets the process start child processes while regions are registered and in use', async () => {
    const { client, server, close } = await pair({ transport: 'roce' });
    // Small regions share their pages with the rest of the heap: a child must still see all of it.
    const target = register(new Uint8Array(3000));
    await server.send(target.descriptor);
    await client.write(register(new Uint8Array(3000).fill(4)), await client.receive());
    for (let i = 0; i < 20; i++) {
      const child = spawnSync(process.execPath, ['-e', 'process.exit(7)']);
      assert.equal(child.status, 7, `child ${i}: ${child.error?.message ?? child.signal}`);
    }
    assert.ok(target.bytes.every((byte) => byte === 4));
    // While a child lives, what the parent writes into registered memory is what the NIC reads, and what the
    // NIC writes is what the parent sees: no copy-on-write split between them.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    await once(child, 'spawn');
    target.bytes.fill(0);
    const source = register(new Uint8Array(3000));
    source.bytes.fill(6);
    await server.send(target.descriptor);
    await client.write(source, await client.receive());
    assert.ok(target.bytes.every((byte) => byte === 6));
    child.kill();
    await close();
  });

  it('reuses the local registration of memory registered again, never one peers can reach', async () => {
    const { client, server, close } = await pair({ transport: 'roce' });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
    const targetMemory = new Uint8Array(1 << 20);
    const target = register(targetMemory);
    await server.send(target.descriptor);
    const descriptor = await client.receive();
    const memory = new Uint8Array(1 << 20);
    const before = stats();
    for (let round = 1; round <= 5; round++) {
      const source = register(memory.fill(round));
      await client.write(source, descriptor);
      assert.ok(
        targetMemory.every((byte) => byte === round),
        `round ${round} intact`,
      );
      source.deregister();
      await settle();
    }
    const reused = stats();
    // The target's (for the peer) and the first source's (local) ibv_reg_mr; the later sources came from the cache.
    assert.equal(reused.deviceRegistrations - before.deviceRegistrations, 2);
    assert.equal(reused.registrationCacheHits - before.registrationCacheHits, 4);
    // The target was registered for peers: deregistered for real, so registering it again pins anew.
    target.deregister();
    await settle();
    const again = register(targetMemory);
    await server.send(again.descriptor);
    await client.write(register(memory.fill(9)), await client.receive());
    assert.ok(targetMemory.every((byte) => byte === 9));
    const after = stats();
    assert.equal(after.deviceRegistrations - reused.deviceRegistrations, 1);
    assert.equal(after.registrationCacheHits - reused.registrationCacheHits, 1);
    await close();
  });

  it('uses the GID that FABRIC_GID_INDEX names, and says when there is none', async () => {
    const host = HOST as string;
    const listener = await listen({ host, port: 0, transport: 'roce' });
    const gidIndex = Number(process.env.FABRIC_TEST_GID_INDEX ?? 1);
    const [client] = await Promise.all([
      connect({ host, port: listener.port, transport: 'roce', gidIndex }),
      listener.accept(),
    ]);
    assert.equal(client.transport, 'roce');
    const error = await rejectsWith(
      connect({ host, port: listener.port, transport: 'roce', gidIndex: 999 }),
      'ENODEV',
    );
    assert.match(error.message, /FABRIC_GID_INDEX=999/);
    await client.close();
    await listener.close();
  });

  it('refuses a forced transport that cannot reach the peer with ENODEV and the reason', async () => {
    const host = HOST as string;
    const listener = await listen({ host, port: 0, transport: 'roce' });
    const excluded = await rejectsWith(
      connect({ host, port: listener.port, transport: 'roce', device: `^${DEVICE}` }),
      'ENODEV',
    );
    assert.match(excluded.message, /no RDMA device|leave out/);
    await rejectsWith(connect({ host, port: listener.port, transport: 'ib' }), 'ENODEV');
    await listener.close();
  });
});

describe('verbs: hostile and broken peers (FABRIC_TEST_HOST)', () => {
  before(function () {
    if (!DEVICE || !HOST) this.skip();
  });

  /** A raw RDMA-CM client with receive buffers, which sends `frame` once connected. */
  async function rawClient(
    port: number,
    privateData: Uint8Array,
  ): Promise<Events & { memory: Uint8Array; registration: NativeMemoryRegion }> {
    const Endpoint = (verbsNative() as VerbsNative).Endpoint as NonNullable<VerbsNative['Endpoint']>;
    const client = events((onEvent) => new Endpoint(onEvent));
    client.endpoint.resolve(HOST as string, port, 5000);
    await client.next('route-resolved');
    client.endpoint.setup(16, 16, 0);
    const memory = new Uint8Array(16 * 8192);
    const registration = client.endpoint.register(memory, 1);
    for (let i = 0; i < 16; i++) {
      client.endpoint.postRecv(100 + i, registration.address + BigInt(i * 8192), 8192, registration.lkey);
    }
    client.endpoint.connect(privateData);
    // The registration is kept referenced: a collected MemoryRegion deregisters its memory.
    return { ...client, memory, registration };
  }

  async function stillServes(listener: Listener): Promise<void> {
    const [client, server] = await Promise.all([
      connect({ host: HOST as string, port: listener.port, transport: 'roce' }),
      listener.accept(),
    ]);
    await client.send(Buffer.from('still serving'));
    assert.equal(Buffer.from(await server.receive()).toString(), 'still serving');
    await Promise.all([client.close(), server.close()]);
  }

  it('rejects an RDMA-CM client that is not fabric-transport, and keeps serving', async () => {
    const listener = await listen({ host: HOST as string, port: 0, transport: 'roce' });
    const stranger = await rawClient(listener.port, Buffer.from('hello'));
    await within(10000, stranger.next('rejected'), 'the rejection');
    stranger.endpoint.destroy();
    await stillServes(listener);
    await listener.close();
  });

  it('answers garbage sent over RDMA with an EPROTO error frame, drops that peer, and keeps serving', async () => {
    const listener = await listen({ host: HOST as string, port: 0, transport: 'roce' });
    const raw = await rawClient(listener.port, CONNECT_MAGIC);
    await within(10000, raw.next('established'), 'established');
    const junk = Buffer.alloc(64, 0xee);
    const reg = raw.endpoint.register(junk, 1);
    raw.endpoint.postSend(1, 0, reg.address, junk.length, reg.lkey, 0n, 0, 2);
    // The server's answer: one Error frame (type 0x30) with EPROTO, then the disconnect.
    const completions: number[] = [];
    while (!completions.some((_, i) => i % 4 === 0 && (completions[i] as number) >= 100)) {
      completions.push(...((await within(10000, raw.next('completions'), 'completions'))[0] as Uint32Array));
    }
    const received = completions.findIndex((value, i) => i % 4 === 0 && value >= 100);
    assert.equal(completions[received + 1], 0, 'the frame was received (work completion status)');
    const slot = (completions[received] as number) - 100;
    const frame = Buffer.from(raw.memory.subarray(slot * 8192, slot * 8192 + 32));
    assert.equal(frame[0], 0x30, 'an Error frame');
    assert.equal(errorCodeFromWire(frame.readUInt32LE(12)), 'EPROTO');
    await within(10000, raw.next('disconnected'), 'the disconnect');
    raw.endpoint.destroy();
    reg.deregister();
    raw.registration.deregister();
    await stillServes(listener);
    await listener.close();
  });
});
