// Raw sockets that do not speak the protocol, or break it after the handshake, against a TCP listener:
// each such connection is dropped on its own, and the listener and its other connections carry on.
import * as assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import fc from 'fast-check';
import { errorCodeToWire } from '../../../src/api/errors.js';
import { type Connection, connect, type Listener, listen, register } from '../../../src/index.js';
import {
  ACCESS_READ,
  DESCRIPTOR_SIZE,
  decodeDescriptor,
  encodeDescriptor,
} from '../../../src/protocol/descriptor.js';
import {
  decodeHeader,
  encodeHeader,
  FrameType,
  frameTypeName,
  HEADER_SIZE,
  HELLO_SIZE,
  PROOF_SIZE,
} from '../../../src/protocol/frame.js';
import { CAPABILITY_READ_AHEAD, decodeHello, encodeHello } from '../../../src/protocol/handshake.js';
import { TCP_FRAMES } from '../../../src/transports/tcp/frames.js';
import { clientHello, pattern, RESIDENT_SET_MEASURED, rejectsWith, sleep, within } from '../../helpers.js';
import { frame, mutate, mutation } from '../../protocol/fuzz-frames.js';
import { handshake, rawClient } from '../../raw-tcp-peer.js';

describe('tcp: hostile and broken peers', () => {
  let listener: Listener;
  let good: { client: Connection; server: Connection };
  const accepted: Connection[] = [];

  beforeEach(async () => {
    listener = await listen({ port: 0, transport: 'tcp', handshakeTimeout: 1000 });
    const [client, server] = await Promise.all([
      connect({ host: '127.0.0.1', port: listener.port }),
      listener.accept(),
    ]);
    good = { client, server };
  });

  afterEach(async () => {
    // the well-behaved connection beside the junk is intact, and the listener still accepts
    await good.client.send(Buffer.from('intact'));
    assert.equal(Buffer.from(await good.server.receive()).toString(), 'intact');
    const [late, lateServer] = await Promise.all([
      connect({ host: '127.0.0.1', port: listener.port }),
      listener.accept(),
    ]);
    await Promise.all([
      late.close(),
      lateServer.close(),
      good.client.close(),
      good.server.close(),
      ...accepted.map((c) => c.close()),
    ]);
    await listener.close();
  });

  for (const [name, junk] of [
    ['random garbage', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff))],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
    ['a header announcing a 4 GiB HELLO', encodeHeader({ type: FrameType.Hello, length: 0xffffffff })],
  ] as const) {
    it(`drops a client that sends ${name}, answering with an EPROTO error frame`, async () => {
      const client = await rawClient(listener.port);
      client.socket.write(junk);
      await within(2000, client.ended, 'server closing the junk connection');
      const reply = client.received();
      assert.ok(reply.length >= HEADER_SIZE);
      const header = decodeHeader(reply);
      assert.equal(header.type, FrameType.Error);
      assert.match(reply.subarray(HEADER_SIZE).toString(), /protocol|HELLO/);
    });
  }

  it('never lets a client that has not completed the handshake write into a region', async () => {
    const region = register(new Uint8Array(64));
    const remote = decodeDescriptor(region.descriptor);
    const client = await rawClient(listener.port);
    const payload = Buffer.alloc(64, 0xee);
    client.socket.write(
      Buffer.concat([encodeHeader({ type: FrameType.Write, id: 1, key: remote.key, length: 64 }), payload]),
    );
    await within(2000, client.ended, 'server closing the connection');
    assert.ok(region.bytes.every((byte) => byte === 0));
    region.deregister();
  });

  it('drops a client that stalls halfway through the handshake after handshakeTimeout', async () => {
    const client = await rawClient(listener.port);
    client.socket.write(encodeHeader({ type: FrameType.Hello, length: 84 }).subarray(0, 20));
    const started = performance.now();
    await within(4000, client.ended, 'handshake timeout');
    assert.ok(performance.now() - started >= 900);
  });

  it('closes only the connection that breaks the protocol after the handshake, with EPROTO', async () => {
    const raw = await handshake(listener.port);
    const server = await listener.accept();
    accepted.push(server);
    const pending = server.receive().then(
      () => undefined,
      (e: unknown) => e,
    );
    raw.socket.write(encodeHeader({ type: FrameType.WriteAck, id: 12345 })); // an ack for nothing
    await within(2000, raw.ended, 'server closing the broken connection');
    const error = await pending;
    assert.equal((error as { code?: string }).code, 'EPROTO');
    const header = decodeHeader(raw.received().subarray(raw.consumed));
    assert.equal(header.type, FrameType.Error);
  });

  // Frame types TCP does not carry (the RDMA-only and shared-memory-only ones), and handshake frames once the handshake is over: each
  // sent as a header alone. Refused at the header, as an unknown type is, rather than left waiting for the
  // payload; afterEach checks that the listener's other connection, and a new one, still work.
  const payloadLength: Partial<Record<FrameType, number>> = {
    [FrameType.Rendezvous]: 16,
    [FrameType.KeyGrant]: DESCRIPTOR_SIZE,
    [FrameType.WriteFrom]: 16,
    [FrameType.ReadInto]: 8,
    [FrameType.Hello]: HELLO_SIZE,
    [FrameType.Auth]: PROOF_SIZE,
    [FrameType.Ready]: PROOF_SIZE,
  };
  const notTcp = Object.values(FrameType).filter(
    (type): type is FrameType => typeof type === 'number' && !TCP_FRAMES.types.has(type),
  );
  it('knows the frame types TCP does not carry: the RDMA-only ones and the shared-memory-only ones', () => {
    assert.deepEqual(
      notTcp.map((type) => FrameType[type]),
      [
        'Rendezvous',
        'RendezvousDone',
        'KeyRequest',
        'KeyGrant',
        'KeyRevoke',
        'KeyRevokeAck',
        'WriteFrom',
        'ReadInto',
        'ReadDone',
      ],
    );
  });
  for (const type of [...notTcp, FrameType.Hello, FrameType.Auth, FrameType.Ready]) {
    const length = payloadLength[type] ?? 0;
    it(`refuses a header alone of type ${FrameType[type]} (0x${type.toString(16)}, length ${length}) after the handshake, with EPROTO`, async () => {
      const raw = await handshake(listener.port);
      const server = await listener.accept();
      accepted.push(server);
      const pending = rejectsWith(server.receive(), 'EPROTO');
      raw.socket.write(encodeHeader({ type, length }));
      await within(2000, raw.ended, 'server closing the connection');
      const reply = raw.received().subarray(raw.consumed);
      const header = decodeHeader(reply);
      assert.equal(header.type, FrameType.Error);
      assert.equal(header.id, 0);
      assert.equal(header.aux, errorCodeToWire('EPROTO'));
      const text = TCP_FRAMES.types.has(type)
        ? `protocol violation by the peer: frame type 0x${type.toString(16)} after the handshake`
        : `protocol violation by the peer: frame type ${frameTypeName(type)} is not carried over TCP`;
      assert.equal(reply.subarray(HEADER_SIZE, HEADER_SIZE + header.length).toString(), text);
      assert.equal((await within(2000, pending, 'the server side failing')).message, text);
    });
  }

  it('survives a live fuzz client: corrupted, reordered and truncated frames after a valid handshake', async function () {
    const connections = Number(process.env.FUZZ_LIVE_CONNECTIONS ?? 2000);
    this.timeout(60_000 + connections * 200);
    const streams = fc.sample(
      fc
        .tuple(
          fc.array(frame, { minLength: 1, maxLength: 8 }),
          fc.array(mutation, { maxLength: 3 }),
          fc.array(fc.nat({ max: 7 }), { minLength: 1, maxLength: 12 }),
        )
        .map(([frames, mutations, order]) => mutate(frames, mutations, order)),
      { numRuns: connections, seed: 6 },
    );
    // The well-behaved pair moves checksummed data through a region granted to it alone, meanwhile.
    const target = register(new Uint8Array(64 << 10), { peers: [good.server] });
    const source = register(new Uint8Array(64 << 10));
    let fuzzing = true;
    let rounds = 0;
    const wellBehaved = (async () => {
      while (fuzzing) {
        source.bytes.set(pattern(source.length, rounds));
        await good.client.write(source, target.descriptor);
        await good.client.send(Buffer.from([rounds & 0xff]));
        assert.equal((await good.server.receive())[0], rounds & 0xff);
        assert.deepEqual(target.bytes, source.bytes, `round ${rounds} arrived intact`);
        rounds++;
      }
    })();
    const accepting = (async () => {
      for (let taken = 0; taken < connections; taken++) void (await listener.accept()).close();
    })();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakGrowth = 0;
    const batch = 25;
    for (let first = 0; first < connections; first += batch) {
      await Promise.all(
        streams.slice(first, first + batch).map(async (stream, i) => {
          // Half of them announce read-ahead, so the server reads their garbage both ways.
          const raw = await handshake(listener.port, { capabilities: i % 2 ? CAPABILITY_READ_AHEAD : 0 });
          raw.socket.end(stream);
          await within(5000, raw.ended, 'the server ending the fuzzed connection');
        }),
      );
      peakGrowth = Math.max(peakGrowth, process.memoryUsage().rss - rssBefore);
    }
    await within(5000, accepting, 'every fuzzed connection accepted');
    fuzzing = false;
    await wellBehaved;
    assert.ok(rounds > 0, 'the well-behaved pair made progress');
    if (RESIDENT_SET_MEASURED)
      assert.ok(peakGrowth < 64 << 20, `memory grew by ${peakGrowth} bytes while fuzzing`);
    console.log(
      `      ${connections} fuzzed connections, ${streams.reduce((sum, s) => sum + s.length, 0)} bytes of frames; ` +
        `${rounds} checksummed rounds beside them; resident set +${(peakGrowth / 2 ** 20).toFixed(1)} MiB at most`,
    );
    target.deregister();
    source.deregister();
  });

  it('drops a peer that asks for reads and never reads the answers, with ENOBUFS', async () => {
    // Answers of 1 MiB: far more than socket buffers hold, whatever the host's tcp_rmem and tcp_wmem.
    const region = register(new Uint8Array(1 << 20));
    const { key } = decodeDescriptor(region.descriptor);
    const raw = await handshake(listener.port);
    const server = await listener.accept();
    accepted.push(server);
    raw.socket.pause();
    const request = (id: number) =>
      encodeHeader({ type: FrameType.ReadRequest, id, key, aux: region.length });
    raw.socket.write(Buffer.concat(Array.from({ length: 2000 }, (_, i) => request(i + 1))));
    const error = await within(5000, rejectsWith(server.receive(), 'ENOBUFS'), 'the owner dropping the peer');
    assert.match(error.message, /does not read the answers/);
    raw.socket.destroy();
    region.deregister();
  });

  it('fails what waits on a connection that reads for itself (hybrid) when the peer resets behind a backlog', async () => {
    const hybrid = await listen({ port: 0, transport: 'tcp', pollMode: 'hybrid' });
    try {
      const raw = await handshake(hybrid.port);
      const server = await hybrid.accept();
      // A read the raw peer never answers, then more small frames than one wake-up reads, then a reset.
      const read = server.read(
        register(new Uint8Array(8)),
        encodeDescriptor({ key: 7n, length: 8, access: ACCESS_READ }),
      );
      const frame = Buffer.concat([encodeHeader({ type: FrameType.Message, length: 8 }), Buffer.alloc(8)]);
      // In one turn of this process's loop, so that all of it waits in the server's socket at once.
      raw.socket.write(Buffer.concat(Array.from({ length: 1000 }, () => frame)));
      raw.socket.resetAndDestroy();
      await within(2000, rejectsWith(read, 'ECONNRESET'), 'the pending read');
    } finally {
      await hybrid.close();
    }
  });

  it('closes a connection whose peer uses operation id 0, which only Error frames may carry', async () => {
    const raw = await handshake(listener.port);
    accepted.push(await listener.accept());
    raw.socket.write(encodeHeader({ type: FrameType.ReadRequest, id: 0, aux: 8, key: 1n }));
    await within(2000, raw.ended, 'server closing the connection');
    assert.match(
      raw
        .received()
        .subarray(raw.consumed + HEADER_SIZE)
        .toString(),
      /operation id 0/,
    );
  });

  it('closes a connection whose peer sends more message bytes than its credit allows', async () => {
    const raw = await handshake(listener.port);
    const server = await listener.accept();
    accepted.push(server);
    const payload = Buffer.alloc(1 << 20);
    // the listener's window is maxMessageSize (16 MiB default) + header + 1 MiB slack; 20 MiB overruns it
    for (let i = 0; i < 20; i++)
      raw.socket.write(
        Buffer.concat([encodeHeader({ type: FrameType.Message, length: payload.length }), payload]),
      );
    await within(5000, raw.ended, 'server closing the overrunning connection');
    await assert.rejects(async () => {
      for (;;) await server.receive();
    }, /EPROTO|credit/);
  });

  describe('a client connecting to something else', () => {
    it('rejects with EPROTO when the server answers with something that is not the protocol', async () => {
      const server = net.createServer((socket) =>
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'),
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      const error = await rejectsWith(connect({ host: '127.0.0.1', port }), 'EPROTO');
      assert.match(error.message, /fabric-transport endpoint/);
      server.close();
    });

    it('rejects with ETIMEDOUT when the server never answers', async () => {
      const sockets: net.Socket[] = [];
      const server = net.createServer((socket) => sockets.push(socket));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as net.AddressInfo).port;
      await rejectsWith(connect({ host: '127.0.0.1', port, handshakeTimeout: 200 }), 'ETIMEDOUT');
      for (const socket of sockets) socket.destroy();
      server.close();
    });
  });
});

describe('tcp: token handshake against a raw client', () => {
  it('never answers a wrong proof with its own, nor lets the client touch a region', async () => {
    const listener = await listen({ port: 0, transport: 'tcp', token: 'the real token' });
    const region = register(new Uint8Array(64));
    const { key } = decodeDescriptor(region.descriptor);
    const client = await rawClient(listener.port);
    const hello = encodeHello(clientHello({ token: true }));
    client.socket.write(
      Buffer.concat([encodeHeader({ type: FrameType.Hello, length: hello.length }), hello]),
    );
    while (client.received().length < HEADER_SIZE + hello.length) await sleep(2);
    const serverHello = decodeHello(client.received().subarray(HEADER_SIZE, HEADER_SIZE + hello.length));
    assert.equal(serverHello.token, true);
    const write = Buffer.concat([
      encodeHeader({ type: FrameType.Write, id: 1, key, length: 64 }),
      Buffer.alloc(64, 0xee),
    ]);
    client.socket.write(
      Buffer.concat([encodeHeader({ type: FrameType.Auth, length: 32 }), Buffer.alloc(32, 7), write]),
    );
    await within(2000, client.ended, 'server closing the connection');
    const reply = decodeHeader(client.received().subarray(HEADER_SIZE + hello.length));
    assert.equal(reply.type, FrameType.Error, 'an Error frame, not Ready with a proof');
    assert.equal(reply.aux, errorCodeToWire('EACCES'));
    assert.ok(region.bytes.every((byte) => byte === 0));
    region.deregister();
    await listener.close();
  });
});
