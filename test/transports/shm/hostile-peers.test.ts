// Peers that scribble on the shared memory, through their own mapping of it, or hand over memory that is not
// what the protocol says: each such connection fails with EPROTO on its own, and the listener and its other
// connections carry on. And nothing is left behind: descriptors and mappings stay flat over many cycles.
import * as assert from 'node:assert/strict';
import { openSync, readFileSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { type Connection, connect, type Listener, listen } from '../../../src/index.js';
import { encodeHeader, FrameType } from '../../../src/protocol/frame.js';
import { shmNative } from '../../../src/transports/shm/native.js';
import { controlWords, HEADER_PAGE, layoutBytes } from '../../../src/transports/shm/ring-layout.js';
import { descriptorsBackTo, openDescriptors } from '../../descriptors.js';
import { rejectsWith, sleep, usableTransports, within } from '../../helpers.js';

/** What a connection holds of its shared memory (its private parts, reached as a hostile peer would). */
interface Held {
  rings: { memory: ArrayBuffer; capacity: number; peerBell: number };
}

/** Mappings of the rings' memfds this process holds. */
function ringMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.includes('memfd:fabric-transport')).length;
}

const available = usableTransports().includes('shm');

(available ? describe : describe.skip)('shm: hostile and broken peers', () => {
  const native = shmNative() as NonNullable<ReturnType<typeof shmNative>>;
  let listener: Listener;
  let good: { client: Connection; server: Connection };

  async function open(): Promise<{ client: Connection; server: Connection }> {
    const [client, server] = await Promise.all([
      connect({ host: '127.0.0.1', port: listener.port, transport: 'shm' }),
      listener.accept(),
    ]);
    return { client, server };
  }

  /** The words and data of ring `ring` of `connection`'s memory, and a way to wake its peer. */
  function scribble(connection: Connection, ring: 0 | 1) {
    const { rings } = connection as unknown as Held;
    return {
      words: new Int32Array(rings.memory, 0, HEADER_PAGE / 4),
      data: new Uint8Array(rings.memory, HEADER_PAGE + ring * rings.capacity, rings.capacity),
      control: controlWords(ring),
      wake: () => native.eventfdSignal(rings.peerBell),
    };
  }

  beforeEach(async () => {
    listener = await listen({ port: 0, transport: 'shm', handshakeTimeout: 1000 });
    good = await open();
  });

  afterEach(async () => {
    await good.client.send(Buffer.from('intact'));
    assert.equal(Buffer.from(await good.server.receive()).toString(), 'intact');
    const late = await open();
    await Promise.all([late.client.close(), late.server.close(), good.client.close(), good.server.close()]);
    await listener.close();
  });

  it('cuts off a peer that moves its tail beyond the ring with EPROTO', async () => {
    const victim = await open();
    const ring = scribble(victim.client, 1);
    Atomics.store(ring.words, ring.control.tail, Atomics.load(ring.words, ring.control.tail) + (1 << 30));
    ring.wake();
    const error = await rejectsWith(victim.server.receive(), 'EPROTO');
    assert.match(error.message, /corrupted the shared ring/);
    await victim.client.close();
  });

  it('cuts off a peer that claims to have taken bytes it was never given with EPROTO', async () => {
    const victim = await open();
    const ring = scribble(victim.client, 0);
    Atomics.store(ring.words, ring.control.head, 12345);
    await rejectsWith(victim.server.send(Buffer.from('x')), 'EPROTO');
    await rejectsWith(victim.server.receive(), 'EPROTO');
    await victim.client.close();
  });

  it('cuts off a peer that publishes garbage frames with EPROTO', async () => {
    for (const garbage of [
      new Uint8Array(64).fill(0xff),
      encodeHeader({ type: 0x7f as FrameType, length: 0 }),
      encodeHeader({ type: FrameType.Message, length: 0xffff_fff0 }),
      encodeHeader({ type: FrameType.KeyGrant, id: 1 }),
    ]) {
      const victim = await open();
      const ring = scribble(victim.client, 1);
      const tail = Atomics.load(ring.words, ring.control.tail) >>> 0;
      ring.data.set(garbage, tail % ring.data.length);
      Atomics.store(ring.words, ring.control.tail, (tail + garbage.length) | 0);
      ring.wake();
      const outcome = await within(
        2000,
        victim.server.receive().catch((error) => error),
        'the refusal',
      );
      // An unknown key is refused for that operation alone (the peer would get an Error frame): the rest, the whole
      // connection, with EPROTO.
      if (garbage[0] === FrameType.Write)
        assert.ok(!victim.server.closed || (outcome as { code?: string }).code === 'EPROTO');
      else assert.equal((outcome as { code?: string }).code, 'EPROTO', String(outcome));
      await Promise.all([victim.client.close(), victim.server.close()]);
    }
  });

  it('refuses memory handed over that is not a sealed memfd of the announced layout, with EPROTO', async () => {
    const port = listener.port + 1;
    const name = `\0fabric-transport-127.0.0.1-${port}`;
    const path = `/dev/shm/fabric-test-${process.pid}`;
    const file = openSync(path, 'w+');
    unlinkSync(path);
    const blank = native.shmCreate(layoutBytes(64 << 10)); // sealed, but no header: magic 0
    const handouts: number[][] = [
      [file, native.eventfdCreate(), native.eventfdCreate()],
      [blank, blank, blank],
      [blank],
    ];
    const fake = net.createServer({ pauseOnConnect: true }, (socket) => {
      const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
      native.sendDescriptors(fd, handouts.shift() as number[]);
      setTimeout(() => socket.destroy(), 500);
    });
    await new Promise<void>((resolve) => fake.listen(name, resolve));
    try {
      for (let i = 0; i < 3; i++) {
        await rejectsWith(
          connect({ host: '127.0.0.1', port, transport: 'shm', handshakeTimeout: 1000 }),
          'EPROTO',
        );
      }
    } finally {
      fake.close();
    }
  });

  it('gives back every descriptor and ring mapping over 200 connect/close cycles', async function () {
    this.timeout(60_000);
    const cycle = async () => {
      const { client, server } = await open();
      await client.send(Buffer.from('ping'));
      await server.receive();
      await Promise.all([client.close(), server.close()]);
    };
    for (let i = 0; i < 10; i++) await cycle();
    await sleep(50);
    const descriptors = openDescriptors();
    const maps = ringMappings();
    for (let i = 0; i < 200; i++) await cycle();
    assert.ok(
      (await descriptorsBackTo(descriptors, 2000)) <= descriptors,
      'descriptors back to where they were',
    );
    assert.ok(ringMappings() <= maps, `ring mappings ${ringMappings()} after, ${maps} before`);
  });
});
