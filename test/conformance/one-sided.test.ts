// Conformance, one-sided operations: write and read into registered regions, zero-copy and bounded, and the
// checks on descriptors, access, peers and deregistration at both ends.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegionSlice, register, stats, transports } from '../../src/index.js';
import {
  ACCESS_READ,
  ACCESS_WRITE,
  decodeDescriptor,
  encodeDescriptor,
} from '../../src/protocol/descriptor.js';
import { openDescriptors } from '../descriptors.js';
import { atLeast, HOST, pattern, RESIDENT_SET_MEASURED, rejectsWith, within } from '../helpers.js';
import { forEachTransport } from './suite.js';

forEachTransport('one-sided operations', ({ kind, pair, listen, dial }) => {
  it('write and read land intact at any offset', async () => {
    const p = await pair();
    const remote = register(new Uint8Array(1 << 20));
    const local = register(pattern(1 << 20, 7));
    await p.client.write(local.slice(1000, 5000), remote.descriptor, 300);
    assert.deepEqual(remote.bytes.subarray(300, 5300), local.bytes.subarray(1000, 6000));
    assert.equal(remote.bytes[299], 0);
    assert.equal(remote.bytes[5300], 0);
    remote.bytes.set(pattern(100, 9), 700000);
    const back = register(new Uint8Array(100));
    await p.client.read(back, remote.descriptor, 700000);
    assert.deepEqual(back.bytes, pattern(100, 9));
    await p.client.write(local.slice(0, 0), remote.descriptor, 1 << 20);
    await p.close();
  });

  it('work in both directions on regions passed as descriptors in messages', async () => {
    const p = await pair();
    const serverRegion = register(new Float32Array(1024));
    await p.server.send(serverRegion.descriptor);
    const descriptor = await p.client.receive();
    const tensor = register(new Float32Array(1024).map((_, i) => i * 0.5));
    await p.client.write(tensor, descriptor);
    assert.deepEqual(new Float32Array(serverRegion.bytes.buffer), new Float32Array(tensor.bytes.buffer));
    await p.close();
  });

  it('move 1 GiB through 64 MiB regions needing at most 64 MiB beyond them', async function () {
    this.timeout(atLeast(this.timeout(), 120000));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(__dirname, '..', 'fixtures', 'footprint.js'), HOST, kind],
      { env: process.env },
    );
    const footprint = JSON.parse(stdout) as { baseline: number; peak: number; intact: boolean };
    assert.ok(footprint.intact, 'data intact');
    const beyond = footprint.peak - footprint.baseline;
    if (RESIDENT_SET_MEASURED) {
      assert.ok(beyond <= 64 << 20, `${(beyond / 2 ** 20).toFixed(1)} MiB beyond the regions`);
    }
  });

  it('move 64 MiB each way intact with zero bytes copied in user space (but for a ring, which says so)', async function () {
    this.timeout(atLeast(this.timeout(), 60000));
    const size = 64 << 20;
    const p = await pair();
    const remote = register(new Uint8Array(size));
    const local = register(pattern(size, 3));
    const before = stats();
    await p.client.write(local, remote.descriptor);
    assert.ok(Buffer.compare(remote.bytes, local.bytes) === 0, 'written data intact');
    remote.bytes.set(pattern(size, 4));
    await p.client.read(local, remote.descriptor);
    assert.ok(Buffer.compare(remote.bytes, local.bytes) === 0, 'read data intact');
    const after = stats();
    // A transport that says its payloads go through a ring copies them there, once each way.
    const ring = transports().find((info) => info.kind === kind)?.path === 'ring';
    assert.equal(after.copiedBytes - before.copiedBytes, ring ? 2 * size : 0);
    // Both payloads (the write at the owner, the read's answer at the initiator) landed in place.
    assert.ok(
      after.placedBytes - before.placedBytes >= 2 * size,
      `${after.placedBytes - before.placedBytes} bytes placed`,
    );
    remote.deregister();
    local.deregister();
    await p.close();
  });

  it('are checked locally: ERANGE past the end, EACCES against the access, before anything is sent', async () => {
    const p = await pair();
    const readOnly = register(new Uint8Array(4096), { access: 'read' });
    const writeOnly = register(new Uint8Array(4096), { access: 'write' });
    const local = register(new Uint8Array(8192));
    const sentBefore = stats().bytesSent;
    await rejectsWith(p.client.write(local.slice(0, 4097), writeOnly.descriptor, 0), 'ERANGE');
    await rejectsWith(p.client.write(local.slice(0, 1), writeOnly.descriptor, 4096), 'ERANGE');
    await rejectsWith(p.client.read(local.slice(0, 100), readOnly.descriptor, 4000), 'ERANGE');
    await rejectsWith(p.client.write(local.slice(0, 1), readOnly.descriptor, 0), 'EACCES');
    await rejectsWith(p.client.read(local.slice(0, 1), writeOnly.descriptor, 0), 'EACCES');
    assert.equal(stats().bytesSent, sentBefore);
    await p.client.write(local.slice(0, 4096), writeOnly.descriptor, 0);
    await p.client.read(local.slice(0, 4096), readOnly.descriptor, 0);
    await p.close();
  });

  it('are checked by the owner too: a forged descriptor gets ERANGE or EACCES, and nothing is touched', async () => {
    const p = await pair();
    const readOnly = register(new Uint8Array(4096), { access: 'read' });
    const { key } = decodeDescriptor(readOnly.descriptor);
    const forged = encodeDescriptor({ key, length: 1 << 20, access: ACCESS_READ | ACCESS_WRITE });
    const local = register(pattern(8192, 3));
    await rejectsWith(p.client.read(local.slice(0, 100), forged, 4000), 'ERANGE');
    await rejectsWith(p.client.write(local.slice(0, 10), forged, 0), 'EACCES');
    assert.ok(readOnly.bytes.every((byte) => byte === 0));
    await p.client.read(local.slice(0, 4096), readOnly.descriptor, 0);
    await p.close();
  });

  it('reject bad arguments with EINVAL', async () => {
    const p = await pair();
    const region = register(new Uint8Array(64));
    await rejectsWith(p.client.write(region, new Uint8Array(5)), 'EINVAL');
    await rejectsWith(
      p.client.write(
        region,
        region.descriptor.map((b, i) => (i === 0 ? 99 : b)),
      ),
      'EINVAL',
    );
    await rejectsWith(p.client.write(region, region.descriptor, -1), 'EINVAL');
    await rejectsWith(p.client.write(region, region.descriptor, 1.5), 'EINVAL');
    await rejectsWith(p.client.write(new Uint8Array(4) as never, region.descriptor), 'EINVAL');
    assert.throws(() => new RegionSlice(region, 60, 5), /passes the end/);
    assert.throws(() => region.slice(-1, 2), /non-negative/);
    const gone = register(new Uint8Array(64));
    gone.deregister();
    await rejectsWith(p.client.write(gone, region.descriptor), 'EINVAL');
    await p.close();
  });

  it('get EACCES from the owner for a deregistered region, and the connection stays usable', async () => {
    const p = await pair();
    const remote = register(new Uint8Array(4096));
    const local = register(pattern(4096, 5));
    const descriptor = remote.descriptor;
    remote.deregister();
    remote.deregister();
    await rejectsWith(p.client.write(local, descriptor), 'EACCES');
    await rejectsWith(p.client.read(local, descriptor), 'EACCES');
    await rejectsWith(p.client.write(local.slice(0, 0), descriptor), 'EACCES');
    const live = register(new Uint8Array(4096));
    await p.client.write(local, live.descriptor);
    assert.deepEqual(live.bytes, local.bytes);
    await p.client.send(Buffer.from('still here'));
    assert.equal(Buffer.from(await p.server.receive()).toString(), 'still here');
    await p.close();
  });

  it('get EACCES for a region deregistered after use, once the owner said so in a message', async () => {
    const p = await pair();
    const remote = register(new Uint8Array(4096));
    const local = register(pattern(4096, 6));
    await p.client.write(local, remote.descriptor);
    await p.client.read(local, remote.descriptor);
    remote.deregister();
    await p.server.send(Buffer.from('deregistered'));
    await p.client.receive();
    await rejectsWith(p.client.write(local, remote.descriptor), 'EACCES');
    await rejectsWith(p.client.read(local, remote.descriptor), 'EACCES');
    await p.client.send(Buffer.from('still here'));
    assert.equal(Buffer.from(await p.server.receive()).toString(), 'still here');
    await p.close();
  });

  it('honour peers: a leaked descriptor used from another connection gets EACCES', async () => {
    const listener = await listen();
    const [alice, aliceServer] = await dial(listener);
    const [mallory, malloryServer] = await dial(listener);
    const alicesMemory = register(new Uint8Array(1024), { peers: [aliceServer] });
    const local = register(pattern(1024, 11));
    await rejectsWith(mallory.write(local, alicesMemory.descriptor), 'EACCES');
    await rejectsWith(mallory.read(local, alicesMemory.descriptor), 'EACCES');
    assert.equal(alicesMemory.bytes[0], 0);
    await alice.write(local, alicesMemory.descriptor);
    assert.deepEqual(alicesMemory.bytes, local.bytes);
    await Promise.all([alice, aliceServer, mallory, malloryServer].map((c) => c.close()));
    await listener.close();
  });

  it('leave in call order: a message sent right after a write (not awaited) finds the data there', async () => {
    const p = await pair();
    const target = register(new Uint8Array(64 << 10));
    await p.server.send(target.descriptor);
    const descriptor = await p.client.receive();
    const source = register(pattern(64 << 10, 21));
    for (let round = 0; round < 5; round++) {
      source.bytes[0] = round;
      const write = p.client.write(source, descriptor);
      await p.client.send(Buffer.from([round]));
      assert.equal((await p.server.receive())[0], round);
      assert.equal(target.bytes[0], round, 'the write landed before the message that followed it');
      assert.deepEqual(target.bytes.subarray(1), source.bytes.subarray(1));
      await write;
    }
    await p.close();
  });

  it('complete while both sides hold unread messages', async () => {
    const p = await pair();
    const regions = [register(new Uint8Array(4096)), register(new Uint8Array(4096))] as const;
    await p.server.send(regions[0].descriptor);
    await p.client.send(regions[1].descriptor);
    const [serverDescriptor, clientDescriptor] = await Promise.all([p.client.receive(), p.server.receive()]);
    // Each side hands over 50 messages the other does not read yet: protocol answers must still flow.
    const count = 50;
    await Promise.all(
      Array.from({ length: count }, (_, i) => [
        p.client.send(pattern(100, i)),
        p.server.send(pattern(100, i)),
      ]).flat(),
    );
    const local = register(pattern(4096, 31));
    const back = [register(new Uint8Array(4096)), register(new Uint8Array(4096))] as const;
    await within(
      20000,
      Promise.all([
        p.client.write(local, serverDescriptor),
        p.server.read(back[0], clientDescriptor),
        p.client.read(back[1], serverDescriptor),
      ]),
      'one-sided operations beside unread messages',
    );
    assert.deepEqual(regions[0].bytes, local.bytes);
    for (let i = 0; i < count; i++) {
      assert.deepEqual(new Uint8Array(await p.server.receive()), pattern(100, i));
      assert.deepEqual(new Uint8Array(await p.client.receive()), pattern(100, i));
    }
    await p.close();
  });

  it('many concurrent operations complete, each with its own result', async () => {
    const p = await pair();
    const remote = register(new Uint8Array(256 * 1024));
    const ops: Promise<void>[] = [];
    const locals = Array.from({ length: 256 }, (_, i) => register(pattern(1024, i + 1)));
    for (let i = 0; i < 256; i++) ops.push(p.client.write(locals[i] as never, remote.descriptor, i * 1024));
    const missing = register(new Uint8Array(8));
    missing.deregister();
    const refused = rejectsWith(p.client.write(register(new Uint8Array(8)), missing.descriptor), 'EACCES');
    await Promise.all(ops);
    await refused;
    for (let i = 0; i < 256; i++)
      assert.deepEqual(remote.bytes.subarray(i * 1024, (i + 1) * 1024), pattern(1024, i + 1));
    await p.close();
  });

  it('frees what it holds: many register/use/deregister cycles give back memory and descriptors', async function () {
    this.timeout(atLeast(this.timeout(), 60000));
    const p = await pair();
    const source = register(pattern(4096, 5));
    const cycle = async (bytes: number) => {
      const region = register(new Uint8Array(bytes));
      await p.server.send(region.descriptor);
      await p.client.write(source, await p.client.receive(), bytes - source.length);
      assert.deepEqual(region.bytes.subarray(bytes - source.length), source.bytes);
      region.deregister();
      // Over RDMA the revocation reaches the peer in order with what follows, as a message does.
      await p.server.send(Buffer.from('deregistered'));
      await p.client.receive();
      await rejectsWith(p.client.read(source, region.descriptor), 'EACCES');
    };
    await cycle(8 << 20);
    const descriptorsBefore = openDescriptors();
    const residentBefore = process.memoryUsage().rss;
    let peakGrowth = 0;
    for (let i = 0; i < 64; i++) {
      await cycle(8 << 20);
      peakGrowth = Math.max(peakGrowth, process.memoryUsage().rss - residentBefore);
    }
    // 512 MiB went through registration; what stays is what the garbage collector has not reached yet.
    if (RESIDENT_SET_MEASURED)
      assert.ok(peakGrowth < 256 << 20, `resident set grew by ${peakGrowth >> 20} MiB`);
    assert.ok(
      openDescriptors() <= descriptorsBefore,
      `descriptors: ${descriptorsBefore} before, ${openDescriptors()} after`,
    );
    await p.close();
  });
});
