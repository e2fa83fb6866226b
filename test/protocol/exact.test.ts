// What docs/PROTOCOL.md states exactly, checked against a real TCP listener by raw peers that compute what
// they send from the document alone (token proofs with node:crypto, headers byte by byte): which fields must
// be zero, where offsets stop, how each bad Hello is answered, which frames a side accepts when, and when
// credit comes back. Every refusal is checked to leave the listener and its other connections working.
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { errorCodeToWire, FabricError } from '../../src/api/errors.js';
import { resolveOptions } from '../../src/core/options.js';
import {
  type Connection,
  connect,
  type Listener,
  type ListenOptions,
  listen,
  type Region,
  register,
} from '../../src/index.js';
import { decodeDescriptor, encodeDescriptor } from '../../src/protocol/descriptor.js';
import {
  decodeHeader,
  encodeHeader,
  FrameType,
  HEADER_SIZE,
  HELLO_SIZE,
  type HeaderField,
  OFFSET_LIMIT,
  READ_AHEAD_BYTES,
} from '../../src/protocol/frame.js';
import { CAPABILITY_READ_AHEAD, decodeHello, encodeHello, type Hello } from '../../src/protocol/handshake.js';
import { TCP_FRAMES } from '../../src/transports/tcp/frames.js';
import { RDMA_FRAMES } from '../../src/transports/verbs/frames.js';
import { clientHello, pattern, rejectsWith, sleep, within } from '../helpers.js';
import {
  handshake,
  parseFrames,
  type RawFrame,
  rawClient,
  rawHeader,
  rawServer,
  receiveFrames,
  refusedWith,
} from '../raw-tcp-peer.js';

const U64_MAX = (1n << 64n) - 1n;
const FIELDS: readonly HeaderField[] = ['id', 'aux', 'key', 'offset'];
const NONZERO: Readonly<Record<HeaderField, { id?: number; aux?: number; key?: bigint; offset?: bigint }>> = {
  id: { id: 9 },
  aux: { aux: 9 },
  key: { key: 1n << 40n },
  offset: { offset: 9n },
};
const ALL_TYPES = Object.values(FrameType).filter((v): v is FrameType => typeof v === 'number');

type RawPeer = Awaited<ReturnType<typeof rawClient>>;

/** A frame: its header and payload. */
function frame(header: Parameters<typeof rawHeader>[0], payload: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([rawHeader({ ...header, length: payload.length }), payload]);
}

/** The Hello frame of `hello` (a valid client Hello with these fields). */
function helloFrame(hello: Partial<Hello> = {}): Buffer {
  return frame({ type: FrameType.Hello }, encodeHello(clientHello(hello)));
}

/** Sends a Hello and returns the server's first frame (its Hello, or an Error frame). */
async function sendHello(peer: RawPeer, bytes: Buffer): Promise<RawFrame> {
  peer.socket.write(bytes);
  return (await receiveFrames(peer, 1))[0] as RawFrame;
}

/**
 * A listener (`options`) with a well-behaved connection beside the raw ones of each test: after the test that
 * connection still carries a message and a write, and the listener accepts a new connection.
 */
function served(options: ListenOptions = {}) {
  const state = {
    listener: undefined as unknown as Listener,
    good: undefined as unknown as { client: Connection; server: Connection },
    /** Connections the listener accepted for the raw peers, closed after the test. */
    accepted: [] as Connection[],
    async accept(): Promise<Connection> {
      const connection = await state.listener.accept();
      state.accepted.push(connection);
      return connection;
    },
  };
  const clientOptions = () => ({
    host: '127.0.0.1',
    port: state.listener.port,
    transport: 'tcp' as const,
    ...(options.token === undefined ? {} : { token: options.token }),
  });
  beforeEach(async () => {
    state.listener = await listen({ port: 0, transport: 'tcp', handshakeTimeout: 2000, ...options });
    const [client, server] = await Promise.all([connect(clientOptions()), state.listener.accept()]);
    state.good = { client, server };
  });
  afterEach(async () => {
    const { client, server } = state.good;
    await client.send(Buffer.from('intact'));
    assert.equal(Buffer.from(await server.receive()).toString(), 'intact');
    const target = register(new Uint8Array(16), { peers: [server] });
    const source = register(pattern(16, 3));
    await client.write(source, target.descriptor);
    assert.deepEqual(target.bytes, source.bytes);
    target.deregister();
    source.deregister();
    const [late, lateServer] = await Promise.all([connect(clientOptions()), state.listener.accept()]);
    await Promise.all([
      late.close(),
      lateServer.close(),
      client.close(),
      server.close(),
      ...state.accepted.splice(0).map((c) => c.close()),
    ]);
    await state.listener.close();
  });
  return state;
}

/** A region and its key, for raw one-sided frames. */
function region(bytes: Uint8Array): { region: Region; key: bigint } {
  const r = register(bytes);
  return { region: r, key: decodeDescriptor(r.descriptor).key };
}

describe('protocol: docs/PROTOCOL.md, exactly', () => {
  describe('1. token proofs: HMAC-SHA256 keyed with the UTF-8 token over label ‖ client nonce ‖ server nonce', () => {
    // Not ASCII, so that an encoding other than UTF-8 gives other key bytes.
    const TOKEN = 'tökén ✓ 🔑';
    const s = served({ token: TOKEN });

    /** The proof as the document defines it, computed here without the library. */
    function proof(
      key: Buffer,
      role: string,
      clientNonce: Buffer,
      serverNonce: Buffer,
      separator = '',
    ): Buffer {
      const label = Buffer.from(`fabric-transport v1 ${role}${separator}`, 'ascii');
      const message = Buffer.concat([label, clientNonce, serverNonce]);
      if (separator === '') assert.equal(message.length, 90, 'a 26-byte label and two 32-byte nonces');
      return createHmac('sha256', key).update(message).digest();
    }
    const utf8 = Buffer.from(TOKEN, 'utf8');

    /** Hello with the token flag; the nonces of both sides. */
    async function hello(peer: RawPeer) {
      const mine = clientHello({ token: true });
      const answer = await sendHello(peer, frame({ type: FrameType.Hello }, encodeHello(mine)));
      assert.equal(answer.header.type, FrameType.Hello);
      const theirs = decodeHello(answer.payload);
      assert.equal(theirs.token, true);
      // the nonce is the Hello payload's last 32 bytes
      assert.deepEqual(theirs.nonce, answer.payload.subarray(20, 52));
      return { clientNonce: mine.nonce, serverNonce: theirs.nonce };
    }

    it('accepts a proof computed from the document, and answers with its own, computed the same way', async () => {
      const peer = await rawClient(s.listener.port);
      const { clientNonce, serverNonce } = await hello(peer);
      peer.socket.write(frame({ type: FrameType.Auth }, proof(utf8, 'client', clientNonce, serverNonce)));
      const ready = (await receiveFrames(peer, 2))[1] as RawFrame;
      assert.equal(ready.header.type, FrameType.Ready);
      assert.deepEqual(ready.payload, proof(utf8, 'server', clientNonce, serverNonce));
      const server = await s.accept();
      peer.socket.write(frame({ type: FrameType.Message }, Buffer.from('proved')));
      assert.equal(Buffer.from(await server.receive()).toString(), 'proved');
      peer.socket.destroy();
    });

    for (const [name, make] of [
      [
        'a space between the label and the nonces',
        (c: Buffer, v: Buffer) => proof(utf8, 'client', c, v, ' '),
      ],
      ['a NUL after the label', (c: Buffer, v: Buffer) => proof(utf8, 'client', c, v, '\0')],
      ['the token in Latin-1', (c: Buffer, v: Buffer) => proof(Buffer.from(TOKEN, 'latin1'), 'client', c, v)],
      ['the token in UTF-16', (c: Buffer, v: Buffer) => proof(Buffer.from(TOKEN, 'utf16le'), 'client', c, v)],
      ['the nonces swapped', (c: Buffer, v: Buffer) => proof(utf8, 'client', v, c)],
      ['the server label', (c: Buffer, v: Buffer) => proof(utf8, 'server', c, v)],
    ] as const) {
      it(`refuses a proof computed with ${name}: EACCES, and no Ready`, async () => {
        const peer = await rawClient(s.listener.port);
        const { clientNonce, serverNonce } = await hello(peer);
        const at = peer.received().length;
        peer.socket.write(frame({ type: FrameType.Auth }, make(clientNonce, serverNonce)));
        assert.match(await refusedWith(peer, 'EACCES', at), /did not prove/);
        assert.equal(parseFrames(peer.received(), at).length, 1, 'the Error frame alone');
      });
    }

    it('a client proves as documented to a server that checks by hand, and checks its proof the same way', async () => {
      for (const serverKey of [utf8, Buffer.from('another token', 'utf8')]) {
        let clientProofOk: boolean | undefined;
        const server = await rawServer(async (socket, peer) => {
          const [clientHelloFrame] = await receiveFrames(peer, 1);
          const theirs = decodeHello((clientHelloFrame as RawFrame).payload);
          const mine = clientHello({ token: true, maxMessageSize: 1 << 20, receiveWindow: 2 << 20 });
          socket.write(frame({ type: FrameType.Hello }, encodeHello(mine)));
          const auth = (await receiveFrames(peer, 2))[1] as RawFrame;
          clientProofOk = auth.payload.equals(proof(utf8, 'client', theirs.nonce, mine.nonce));
          socket.write(
            frame({ type: FrameType.Ready }, proof(serverKey, 'server', theirs.nonce, mine.nonce)),
          );
        });
        const port = server.port;
        const connecting = connect({ host: '127.0.0.1', port, transport: 'tcp', token: TOKEN });
        if (serverKey === utf8) {
          await within(2000, connecting, 'the handshake').then((c) => c.close());
        } else {
          const error = await rejectsWith(connecting, 'EACCES');
          assert.match(error.message, /did not prove/);
        }
        assert.equal(clientProofOk, true, "the client's proof is the documented HMAC");
        server.close();
      }
    });
  });

  describe('2. every field a frame does not use must be 0, and is checked (EPROTO)', () => {
    const s = served();

    it('the per-type table: a used field may be anything, an unused one must be 0, a type off its transport is refused', () => {
      for (const carrier of [TCP_FRAMES, RDMA_FRAMES]) {
        for (const type of ALL_TYPES) {
          const used = carrier.fields[type];
          const length = {
            [FrameType.Hello]: HELLO_SIZE,
            [FrameType.KeyGrant]: 24,
            [FrameType.Rendezvous]: 16,
          };
          const base = { type, length: (length as Partial<Record<FrameType, number>>)[type] ?? 0 };
          if (used === undefined) {
            assert.throws(
              () => decodeHeader(rawHeader(base), carrier),
              (e: unknown) =>
                e instanceof FabricError && e.code === 'EPROTO' && /is not carried over/.test(e.message),
            );
            continue;
          }
          assert.equal(decodeHeader(rawHeader(base), carrier).type, type);
          for (const field of FIELDS) {
            const bytes = rawHeader({ ...base, ...NONZERO[field] });
            if (used.includes(field)) {
              decodeHeader(bytes, carrier);
            } else {
              assert.throws(
                () => decodeHeader(bytes, carrier),
                (e: unknown) =>
                  e instanceof FabricError && e.code === 'EPROTO' && e.message.includes(`\`${field}\``),
                `${FrameType[type]} over ${carrier.name}: ${field}`,
              );
            }
          }
        }
      }
      assert.deepEqual(
        [...TCP_FRAMES.types].sort((a, b) => a - b),
        [0x01, 0x02, 0x03, 0x10, 0x11, 0x20, 0x21, 0x22, 0x23, 0x30],
      );
      assert.deepEqual(
        [...RDMA_FRAMES.types].sort((a, b) => a - b),
        [0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13, 0x24, 0x25, 0x26, 0x27, 0x30],
      );
    });

    for (const field of FIELDS) {
      it(`refuses a Hello, an Auth, and each data frame with a non-zero \`${field}\` it does not use`, async () => {
        const cases: { type: FrameType; step: 'hello' | 'auth' | 'open'; payload?: Buffer }[] = [
          { type: FrameType.Hello, step: 'hello', payload: encodeHello(clientHello()) },
          { type: FrameType.Auth, step: 'auth' },
          { type: FrameType.Message, step: 'open', payload: Buffer.from('x') },
          { type: FrameType.Credit, step: 'open' },
          { type: FrameType.Write, step: 'open', payload: Buffer.from('x') },
          { type: FrameType.WriteAck, step: 'open' },
          { type: FrameType.ReadResponse, step: 'open' },
          { type: FrameType.Error, step: 'open' },
        ];
        let refused = 0;
        for (const { type, step, payload } of cases) {
          if ((TCP_FRAMES.fields[type] as readonly HeaderField[]).includes(field)) continue;
          const bad = frame({ type, ...NONZERO[field] }, payload);
          let peer: RawPeer;
          let at = 0;
          if (step === 'open') {
            const raw = await handshake(s.listener.port);
            await s.accept();
            peer = raw;
            at = raw.consumed;
          } else {
            peer = await rawClient(s.listener.port);
            if (step === 'auth') {
              await sendHello(peer, helloFrame());
              at = HEADER_SIZE + HELLO_SIZE;
            }
          }
          peer.socket.write(bad);
          const text = await refusedWith(peer, 'EPROTO', at);
          assert.match(text, new RegExp(`non-zero \`${field}\` field`), `${FrameType[type]}: ${text}`);
          refused++;
        }
        assert.ok(refused >= 3);
      });
    }

    it('refuses the flags byte and the reserved bytes of a header when they are not zero', async () => {
      for (const at of [1, 2, 3]) {
        const raw = await handshake(s.listener.port);
        await s.accept();
        const bad = frame({ type: FrameType.Message }, Buffer.from('x'));
        bad[at] = 0x80;
        raw.socket.write(bad);
        assert.match(await refusedWith(raw, 'EPROTO', raw.consumed), /reserved header bytes/);
      }
    });

    it('refuses read-ahead padding that is not zero, before the payload lands', async () => {
      const { region: r, key } = region(new Uint8Array(64));
      const raw = await handshake(s.listener.port, { capabilities: CAPABILITY_READ_AHEAD });
      await s.accept();
      const padding = Buffer.alloc(READ_AHEAD_BYTES - HEADER_SIZE);
      padding[200] = 1;
      raw.socket.write(
        Buffer.concat([
          encodeHeader({ type: FrameType.Write, id: 1, key, length: 64 }),
          padding,
          Buffer.alloc(64, 7),
        ]),
      );
      assert.match(await refusedWith(raw, 'EPROTO', raw.consumed), /padding/);
      assert.ok(r.bytes.every((byte) => byte === 0));
      r.deregister();
    });

    it("ignores unknown capability bits (announcements, not unused fields): the Hello's one exception", async () => {
      const raw = await handshake(s.listener.port, { capabilities: 0xffff_fffe });
      const server = await s.accept();
      raw.socket.write(frame({ type: FrameType.Message }, Buffer.from('ok')));
      assert.equal(Buffer.from(await server.receive()).toString(), 'ok');
      raw.socket.destroy();
    });
  });

  describe('3. offsets: at or above 2^53, or offset + length past 2^64, are ERANGE for that operation', () => {
    const s = served();

    it('decodes an offset at or above 2^53 as OFFSET_LIMIT, beyond every region', () => {
      for (const offset of [1n << 53n, (1n << 53n) + 1n, U64_MAX]) {
        assert.equal(
          decodeHeader(rawHeader({ type: FrameType.Write, offset }), TCP_FRAMES).offset,
          OFFSET_LIMIT,
        );
      }
      assert.equal(
        decodeHeader(rawHeader({ type: FrameType.Write, offset: (1n << 53n) - 1n }), TCP_FRAMES).offset,
        2 ** 53 - 1,
      );
    });

    it('answers each such Write and ReadRequest with an Error frame carrying its id and ERANGE; the connection stays open', async () => {
      const { region: r, key } = region(new Uint8Array(64));
      const raw = await handshake(s.listener.port);
      const server = await s.accept();
      const data = Buffer.alloc(8, 0xee);
      const requests = [
        frame({ type: FrameType.Write, id: 1, key, offset: 1n << 53n }, data),
        frame({ type: FrameType.Write, id: 2, key, offset: U64_MAX }, data),
        frame({ type: FrameType.Write, id: 3, key, offset: 1n << 60n }), // no payload
        rawHeader({ type: FrameType.ReadRequest, id: 4, key, aux: 16, offset: U64_MAX - 7n }), // past 2^64
        rawHeader({ type: FrameType.ReadRequest, id: 5, key, aux: 0xffff_ffff, offset: (1n << 53n) - 1n }),
        rawHeader({ type: FrameType.ReadRequest, id: 6, key, aux: 2, offset: 63n }), // past the region
        // and the connection still works: a write and a read inside the region, then a message
        frame({ type: FrameType.Write, id: 7, key, offset: 8n }, data),
        rawHeader({ type: FrameType.ReadRequest, id: 8, key, aux: 8, offset: 8n }),
        frame({ type: FrameType.Message }, Buffer.from('still open')),
      ];
      raw.socket.write(Buffer.concat(requests));
      const answers = await receiveFrames(raw, 8, raw.consumed);
      for (const [i, answer] of answers.slice(0, 6).entries()) {
        assert.equal(answer.header.type, FrameType.Error, `answer ${i + 1}`);
        assert.equal(answer.header.id, i + 1);
        assert.equal(answer.header.aux, errorCodeToWire('ERANGE'), answer.payload.toString());
        assert.match(answer.payload.toString(), /pass the end of the region/);
      }
      assert.deepEqual(
        answers.slice(6).map((a) => [a.header.type, a.header.id]),
        [
          [FrameType.WriteAck, 7],
          [FrameType.ReadResponse, 8],
        ],
      );
      assert.deepEqual(answers[7]?.payload, data);
      assert.equal(Buffer.from(await server.receive()).toString(), 'still open');
      assert.ok(
        r.bytes.subarray(0, 8).every((byte) => byte === 0) && r.bytes.subarray(16).every((b) => b === 0),
      );
      r.deregister();
      raw.socket.destroy();
    });

    it('checks a descriptor locally: length below 2^53 (else EINVAL), remoteOffset an integer below 2^53 (EINVAL), within it (ERANGE)', async () => {
      const descriptor = (length: bigint) => {
        const bytes = Buffer.from(encodeDescriptor({ key: 5n, length: 1, access: 3 }));
        bytes.writeBigUInt64LE(length, 8);
        return new Uint8Array(bytes);
      };
      assert.equal(decodeDescriptor(descriptor((1n << 53n) - 1n)).length, 2 ** 53 - 1);
      assert.throws(
        () => decodeDescriptor(descriptor(1n << 53n)),
        (e: unknown) => (e as FabricError).code === 'EINVAL',
      );
      const { client, server } = s.good;
      const target = register(new Uint8Array(64), { peers: [server] });
      const source = register(new Uint8Array(8));
      await rejectsWith(client.write(source, target.descriptor, 2 ** 53), 'EINVAL');
      await rejectsWith(client.write(source, target.descriptor, 57), 'ERANGE');
      await rejectsWith(client.read(source, descriptor(1n << 53n)), 'EINVAL');
      await client.write(source, target.descriptor, 56);
      target.deregister();
      source.deregister();
    });
  });

  describe('4. a Hello that breaks a stated requirement: Error frame EPROTO (id 0) instead of the Hello, then close', () => {
    const s = served();
    const bad: [string, (hello: Buffer) => void][] = [
      ['a bad magic', (h) => h.write('FBRD', 0, 'latin1')],
      ['version 0', (h) => h.writeUInt16LE(0, 4)],
      ['an unknown flag bit (bit 1)', (h) => h.writeUInt16LE(0x2, 6)],
      ['an unknown flag bit (bit 15)', (h) => h.writeUInt16LE(0x8000, 6)],
      ['maxMessageSize 0', (h) => h.writeUInt32LE(0, 12)],
      ['a receive window below maxMessageSize + 32', (h) => h.writeUInt32LE(h.readUInt32LE(12) + 31, 16)],
    ];

    for (const [name, mutate] of bad) {
      it(`refuses a client Hello with ${name}`, async () => {
        const hello = encodeHello(clientHello());
        mutate(hello);
        const peer = await rawClient(s.listener.port);
        peer.socket.write(frame({ type: FrameType.Hello }, hello));
        assert.match(await refusedWith(peer, 'EPROTO'), /HELLO/);
        assert.equal(parseFrames(peer.received()).length, 1, 'no Hello of its own');
      });
    }

    it('accepts the limits at their bounds (a window of exactly maxMessageSize + 32), and a higher client version', async () => {
      const peer = await rawClient(s.listener.port);
      const answer = await sendHello(peer, helloFrame({ version: 7, maxMessageSize: 1, receiveWindow: 33 }));
      assert.equal(answer.header.type, FrameType.Hello);
      assert.equal(decodeHello(answer.payload).version, 1, 'the server answers min(7, 1)');
      peer.socket.destroy();
    });

    for (const [name, mutate] of [
      ...bad,
      ['version 2, which the client does not speak', (h: Buffer) => h.writeUInt16LE(2, 4)],
    ] as const) {
      it(`a client refuses a server Hello with ${name} the same way`, async () => {
        const server = await rawServer((socket) => {
          const hello = encodeHello(clientHello());
          mutate(hello);
          socket.write(frame({ type: FrameType.Hello }, hello));
        });
        const port = server.port;
        await rejectsWith(connect({ host: '127.0.0.1', port, transport: 'tcp' }), 'EPROTO');
        const frames = parseFrames(await server.sent());
        assert.deepEqual(
          frames.map((f) => [f.header.type, f.header.id, f.header.aux]),
          [
            [FrameType.Hello, 0, 0],
            [FrameType.Error, 0, errorCodeToWire('EPROTO')],
          ],
        );
        server.close();
      });
    }
  });

  describe("5. a token flag that differs from the server's: Error frame EACCES instead of its Hello", () => {
    describe('a server without a token', () => {
      const s = served();

      it('refuses a client that claims a token, before it answers with its Hello', async () => {
        const peer = await rawClient(s.listener.port);
        peer.socket.write(helloFrame({ token: true }));
        // even with the empty Auth that once got it Ready
        peer.socket.write(frame({ type: FrameType.Auth }));
        assert.match(await refusedWith(peer, 'EACCES'), /claims a token/);
        assert.equal(parseFrames(peer.received()).length, 1, 'no Hello, no Ready');
      });

      it('refuses a client that claims no token but sends a proof', async () => {
        const peer = await rawClient(s.listener.port);
        await sendHello(peer, helloFrame());
        peer.socket.write(frame({ type: FrameType.Auth }, Buffer.alloc(32, 1)));
        assert.match(await refusedWith(peer, 'EACCES', HEADER_SIZE + HELLO_SIZE), /sent a token proof/);
      });
    });

    describe('a server with a token', () => {
      const s = served({ token: 'secret' });

      it('refuses a client that claims none, before it answers with its Hello', async () => {
        const peer = await rawClient(s.listener.port);
        peer.socket.write(helloFrame({ token: false }));
        assert.match(await refusedWith(peer, 'EACCES'), /requires one/);
        assert.equal(parseFrames(peer.received()).length, 1);
      });

      it("a library client without the token gets the server's EACCES", async () => {
        const error = await rejectsWith(
          connect({ host: '127.0.0.1', port: s.listener.port, transport: 'tcp' }),
          'EACCES',
        );
        assert.match(error.message, /requires one/);
      });
    });
  });

  describe('6. what a side accepts when: pipelined data after Auth, duplicate ids, more than maxInFlight', () => {
    const s = served();

    for (const readAhead of [false, true]) {
      it(`the server takes data frames pipelined right behind Auth${readAhead ? ', padded for read-ahead' : ''}`, async () => {
        const { region: r, key } = region(new Uint8Array(32));
        const peer = await rawClient(s.listener.port);
        const data = Buffer.from(pattern(16, 4));
        const padding = Buffer.alloc(readAhead ? READ_AHEAD_BYTES - HEADER_SIZE : 0);
        // Everything at once, before the server's Hello: without a token, Auth needs nothing from it.
        peer.socket.write(
          Buffer.concat([
            helloFrame({ capabilities: readAhead ? CAPABILITY_READ_AHEAD : 0 }),
            frame({ type: FrameType.Auth }),
            frame({ type: FrameType.Message }, Buffer.from('pipelined')),
            rawHeader({ type: FrameType.Write, id: 1, key, offset: 4n, length: data.length }),
            padding,
            data,
            rawHeader({ type: FrameType.ReadRequest, id: 2, key, offset: 4n, aux: 16 }),
          ]),
        );
        const server = await s.accept();
        assert.equal(Buffer.from(await server.receive()).toString(), 'pipelined');
        const answers = await receiveFrames(peer, 4, 0, readAhead);
        assert.deepEqual(
          answers.map((f) => f.header.type),
          [FrameType.Hello, FrameType.Ready, FrameType.WriteAck, FrameType.ReadResponse],
        );
        assert.deepEqual(answers[3]?.payload, data);
        if (readAhead) {
          // the ReadResponse's padding: zeros, between its header and its payload
          const at = 3 * HEADER_SIZE + HELLO_SIZE + HEADER_SIZE;
          assert.ok(
            peer
              .received()
              .subarray(at, at + padding.length)
              .every((byte) => byte === 0),
          );
        }
        assert.deepEqual(Buffer.from(r.bytes.subarray(4, 20)), data);
        r.deregister();
        peer.socket.destroy();
      });
    }

    it('the server refuses a data frame between its Hello and Auth, unread', async () => {
      const { region: r, key } = region(new Uint8Array(16));
      const peer = await rawClient(s.listener.port);
      await sendHello(peer, helloFrame());
      peer.socket.write(frame({ type: FrameType.Write, id: 1, key }, Buffer.alloc(16, 1)));
      assert.match(
        await refusedWith(peer, 'EPROTO', HEADER_SIZE + HELLO_SIZE),
        /before the handshake completed/,
      );
      assert.ok(r.bytes.every((byte) => byte === 0));
      r.deregister();
    });

    it('a client refuses a data frame before Ready', async () => {
      const server = await rawServer((socket) =>
        socket.write(
          Buffer.concat([helloFrame(), frame({ type: FrameType.Message }, Buffer.from('too early'))]),
        ),
      );
      const port = server.port;
      const error = await rejectsWith(connect({ host: '127.0.0.1', port, transport: 'tcp' }), 'EPROTO');
      assert.match(error.message, /frame type 0x10 before the handshake completed/);
      const frames = parseFrames(await server.sent());
      assert.equal(frames[frames.length - 1]?.header.aux, errorCodeToWire('EPROTO'));
      server.close();
    });

    it('the owner answers a duplicate operation id twice, in request order, and stays open', async () => {
      const { region: r, key } = region(pattern(32, 5));
      const raw = await handshake(s.listener.port);
      const server = await s.accept();
      raw.socket.write(
        Buffer.concat([
          rawHeader({ type: FrameType.ReadRequest, id: 5, key, offset: 0n, aux: 8 }),
          rawHeader({ type: FrameType.ReadRequest, id: 5, key, offset: 16n, aux: 8 }),
          frame({ type: FrameType.Message }, Buffer.from('after')),
        ]),
      );
      const answers = await receiveFrames(raw, 2, raw.consumed);
      assert.deepEqual(
        answers.map((a) => [a.header.type, a.header.id]),
        [
          [FrameType.ReadResponse, 5],
          [FrameType.ReadResponse, 5],
        ],
      );
      assert.deepEqual(answers[0]?.payload, Buffer.from(r.bytes.subarray(0, 8)));
      assert.deepEqual(answers[1]?.payload, Buffer.from(r.bytes.subarray(16, 24)));
      assert.equal(Buffer.from(await server.receive()).toString(), 'after');
      r.deregister();
      raw.socket.destroy();
    });

    describe('with maxInFlight 4', () => {
      const limited = served({ maxInFlight: 4 });

      it('answers a peer with 200 operations in flight, as long as it reads the answers', async () => {
        const { region: r, key } = region(pattern(64, 6));
        const raw = await handshake(limited.listener.port);
        await limited.accept();
        raw.socket.write(
          Buffer.concat(
            Array.from({ length: 200 }, (_, i) =>
              rawHeader({ type: FrameType.ReadRequest, id: i + 1, key, offset: BigInt(i % 56), aux: 8 }),
            ),
          ),
        );
        const answers = await receiveFrames(raw, 200, raw.consumed);
        answers.forEach((answer, i) => {
          assert.equal(answer.header.type, FrameType.ReadResponse);
          assert.equal(answer.header.id, i + 1);
          assert.deepEqual(answer.payload, Buffer.from(r.bytes.subarray(i % 56, (i % 56) + 8)));
        });
        await sleep(20);
        assert.equal(parseFrames(raw.received(), raw.consumed).length, 200, 'no Error frame');
        r.deregister();
        raw.socket.destroy();
      });
    });
  });

  describe('7. TCP credit: in the next Message, or a Credit frame once more than the slack is unreturned', () => {
    // S = receiveWindow - maxMessageSize - 32 = 2000 bytes of slack.
    const s = served({ maxMessageSize: 1000, maxBufferedBytes: 3032 });

    it('returns nothing while U <= S, a Credit frame with C once U > S, and the rest in its next Message', async () => {
      const raw = await handshake(s.listener.port);
      const server = await s.accept();
      const message = frame({ type: FrameType.Message }, Buffer.alloc(468)); // costs 500
      const taken = async (count: number) => {
        for (let i = 0; i < count; i++) assert.equal((await server.receive()).length, 468);
      };
      const nothingMore = async (frames: number) => {
        await sleep(50);
        assert.equal(parseFrames(raw.received(), raw.consumed).length, frames);
      };
      raw.socket.write(Buffer.concat([message, message, message, message]));
      await taken(4); // U = 2000 = S, C = 2000: the peer still has credit for any message
      await nothingMore(0);
      raw.socket.write(message); // U = 2500 > S while C > 0
      const [credit] = await receiveFrames(raw, 1, raw.consumed);
      assert.deepEqual([credit?.header.type, credit?.header.aux], [FrameType.Credit, 2000]);
      await taken(1); // U = C = 500 <= S
      await nothingMore(1);
      await server.send(Buffer.from('reply'));
      const reply = (await receiveFrames(raw, 2, raw.consumed))[1];
      assert.deepEqual([reply?.header.type, reply?.header.aux], [FrameType.Message, 500]);
      raw.socket.destroy();
    });
  });

  describe('8. maxBufferedBytes is the window announced: by default maxMessageSize + 32 + 1 MiB', () => {
    const s = served();

    it('resolves and announces it', async () => {
      assert.equal(resolveOptions({}).receiveWindow, (16 << 20) + 32 + (1 << 20));
      assert.equal(resolveOptions({ maxMessageSize: 1000 }).receiveWindow, 1000 + 32 + (1 << 20));
      assert.equal(resolveOptions({ maxMessageSize: 1000, maxBufferedBytes: 1032 }).receiveWindow, 1032);
      const peer = await rawClient(s.listener.port);
      const hello = decodeHello((await sendHello(peer, helloFrame())).payload);
      assert.equal(hello.maxMessageSize, 16 << 20);
      assert.equal(hello.receiveWindow, hello.maxMessageSize + 32 + (1 << 20));
      peer.socket.destroy();
    });
  });

  describe('9. a frame type TCP does not carry is refused at its header: EPROTO, then close', () => {
    const s = served();
    const rdmaOnly = [...RDMA_FRAMES.types].filter((type) => !TCP_FRAMES.types.has(type));
    const lengths: Partial<Record<FrameType, number>> = {
      [FrameType.Rendezvous]: 16,
      [FrameType.KeyGrant]: 24,
    };

    for (const [type, length] of [
      [FrameType.Rendezvous, 16],
      [FrameType.KeyGrant, 24],
      ...rdmaOnly.map((t) => [t, lengths[t] ?? 0] as const),
    ] as const) {
      it(`refuses ${FrameType[type]} (0x${type.toString(16)}, length ${length}), sent as a header alone`, async () => {
        const raw = await handshake(s.listener.port);
        const server = await s.accept();
        raw.socket.write(rawHeader({ type, length }));
        assert.match(await refusedWith(raw, 'EPROTO', raw.consumed), /is not carried over TCP/);
        await rejectsWith(server.receive(), 'EPROTO');
      });
    }

    it('covers every RDMA-only type', () => {
      assert.deepEqual(
        rdmaOnly.sort((a, b) => a - b),
        [0x12, 0x13, 0x24, 0x25, 0x26, 0x27],
      );
    });
  });
});
