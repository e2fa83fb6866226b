// What the tests of docs/PROTOCOL.md share: raw frames and Hellos computed from the document, and a
// listener with a well-behaved connection beside every hostile one.
import * as assert from 'node:assert/strict';
import {
  type Connection,
  connect,
  type Listener,
  type ListenOptions,
  listen,
  type Region,
  register,
} from '../../../src/index.js';
import { decodeDescriptor } from '../../../src/protocol/descriptor.js';
import { FrameType, type HeaderField } from '../../../src/protocol/frame.js';
import { encodeHello, type Hello } from '../../../src/protocol/handshake.js';
import { clientHello, pattern } from '../../helpers.js';
import { type RawFrame, type rawClient, rawHeader, receiveFrames } from '../../raw-tcp-peer.js';

export const U64_MAX = (1n << 64n) - 1n;
export const FIELDS: readonly HeaderField[] = ['id', 'aux', 'key', 'offset'];
export const NONZERO: Readonly<
  Record<HeaderField, { id?: number; aux?: number; key?: bigint; offset?: bigint }>
> = {
  id: { id: 9 },
  aux: { aux: 9 },
  key: { key: 1n << 40n },
  offset: { offset: 9n },
};
export const ALL_TYPES = Object.values(FrameType).filter((v): v is FrameType => typeof v === 'number');

export type RawPeer = Awaited<ReturnType<typeof rawClient>>;

/** A frame: its header and payload. */
export function frame(
  header: Parameters<typeof rawHeader>[0],
  payload: Uint8Array = Buffer.alloc(0),
): Buffer {
  return Buffer.concat([rawHeader({ ...header, length: payload.length }), payload]);
}

/** The Hello frame of `hello` (a valid client Hello with these fields). */
export function helloFrame(hello: Partial<Hello> = {}): Buffer {
  return frame({ type: FrameType.Hello }, encodeHello(clientHello(hello)));
}

/** Sends a Hello and returns the server's first frame (its Hello, or an Error frame). */
export async function sendHello(peer: RawPeer, bytes: Buffer): Promise<RawFrame> {
  peer.socket.write(bytes);
  return (await receiveFrames(peer, 1))[0] as RawFrame;
}

/**
 * A listener (`options`) with a well-behaved connection beside the raw ones of each test: after the test that
 * connection still carries a message and a write, and the listener accepts a new connection.
 */
export function served(options: ListenOptions = {}) {
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
export function region(bytes: Uint8Array): { region: Region; key: bigint } {
  const r = register(bytes);
  return { region: r, key: decodeDescriptor(r.descriptor).key };
}
