// The shared-memory part of the addon (native/shm/), called directly: sealed memfds and their mappings,
// eventfd doorbells, descriptors passed over a Unix socket, peer credentials and copies by address, each
// checked for what it does, what it refuses, and what it gives back.
import * as assert from 'node:assert/strict';
import { closeSync, ftruncateSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import * as net from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { nativeAddon } from '../../../src/core/native-addon.js';
import { type ShmNative, shmNative } from '../../../src/transports/shm/native.js';
import { openDescriptors } from '../../descriptors.js';
import { pattern, sleep, within } from '../../helpers.js';

const { EAGAIN, EBADF, EFAULT, ENOTSOCK, ESRCH } = constants.errno;

/** Lines of /proc/self/maps, and those that map one of shmCreate()'s memfds. */
function mappings(): { all: number; memfds: number } {
  const lines = readFileSync('/proc/self/maps', 'utf8').trim().split('\n');
  return {
    all: lines.length,
    memfds: lines.filter((line) => line.includes('/memfd:fabric-transport')).length,
  };
}

/** /dev/shm where it is a writable tmpfs: shared memory that is not a memfd (its files are never sealed). */
function devShm(): string | undefined {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
  const found = mounts.some((line) => {
    const [, path, type, flags] = line.split(' ');
    return path === '/dev/shm' && type === 'tmpfs' && (flags ?? '').split(',').includes('rw');
  });
  return found ? '/dev/shm' : undefined;
}

/** node:net does not expose a socket's descriptor; its handle does, on every Unix. */
function descriptorOf(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  assert.ok(typeof fd === 'number' && fd >= 0, 'the socket has a descriptor');
  return fd;
}

/** A connected pair of Unix sockets: `sender`, and `receiver` that node:net never reads (paused on accept). */
async function socketPair(): Promise<{ sender: net.Socket; receiver: net.Socket; close(): Promise<void> }> {
  const name = `\0fabric-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(name, resolve);
  });
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const sender = net.connect({ path: name });
  await new Promise<void>((resolve, reject) => {
    sender.once('connect', resolve);
    sender.once('error', reject);
  });
  const receiver = await within(2000, accepted, 'the accepted socket');
  return {
    sender,
    receiver,
    close: async () => {
      sender.destroy();
      receiver.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('shm: the native part', () => {
  let native: ShmNative;

  before(function () {
    const found = shmNative();
    if (found === undefined) {
      // Without a compiler the package works over TCP alone; a build that must have the addon (CI) fails here.
      if (process.env.FABRIC_REQUIRE_NATIVE === '1') throw new Error(String(nativeAddon()));
      this.skip();
    }
    native = found;
  });

  /** A sealed memfd of `bytes` and one mapping of it, both given back after `use`. */
  function withMemory<T>(bytes: number, use: (fd: number, memory: ArrayBuffer) => T): T {
    const fd = native.shmCreate(bytes);
    try {
      const memory = native.shmMap(fd, bytes);
      try {
        return use(fd, memory);
      } finally {
        native.shmUnmap(memory);
      }
    } finally {
      native.closeDescriptor(fd);
    }
  }

  describe('shared memory', () => {
    it('shows what is written through one mapping of a memfd through a second mapping of it', () => {
      withMemory(65536, (fd, first) => {
        const second = native.shmMap(fd, 65536);
        try {
          assert.equal(first.byteLength, 65536);
          assert.equal(second.byteLength, 65536);
          assert.notEqual(
            native.memoryAddress(new Uint8Array(first)),
            native.memoryAddress(new Uint8Array(second)),
          );
          const bytes = pattern(1000, 3);
          new Uint8Array(first).set(bytes, 4096);
          assert.deepEqual(new Uint8Array(second, 4096, 1000), bytes);
          new Uint8Array(second)[65535] = 0xa5;
          assert.equal(new Uint8Array(first)[65535], 0xa5);
          assert.ok(
            new Uint8Array(second, 0, 4096).every((byte) => byte === 0),
            'a new memfd is zeroed',
          );
        } finally {
          native.shmUnmap(second);
        }
      });
    });

    it('refuses to map a memfd of another size than expected, saying both', () => {
      withMemory(8192, (fd) => {
        assert.throws(
          () => native.shmMap(fd, 4096),
          (error: Error) =>
            error.constructor === Error && /holds 8192 bytes, not the 4096 expected/.test(error.message),
        );
        assert.throws(() => native.shmMap(fd, 16384), /holds 8192 bytes, not the 16384 expected/);
      });
    });

    it('refuses descriptors that are not memfds: a file, an eventfd, one that is not open', () => {
      const file = join(tmpdir(), `fabric-shm-test-${process.pid}`);
      const plain = openSync(file, 'w+');
      try {
        ftruncateSync(plain, 4096);
        // On a disk, no seals at all; on a tmpfs /tmp (the Soft-RoCE guest's), seals but not shrink's.
        assert.throws(
          () => native.shmMap(plain, 4096),
          /(not a memfd|not sealed against shrinking).*map only (descriptors|memory) made by shmCreate/,
        );
      } finally {
        closeSync(plain);
        unlinkSync(file);
      }
      const eventfd = native.eventfdCreate();
      assert.throws(() => native.shmMap(eventfd, 4096), /not a memfd/);
      native.closeDescriptor(eventfd);
      assert.throws(
        () => native.shmMap(2147483000, 4096),
        (error: Error & { errno?: number }) =>
          error.errno === EBADF && /F_GET_SEALS failed/.test(error.message),
      );
    });

    it('refuses shared memory that is not sealed against shrinking (a tmpfs file)', function () {
      // Shared memory too, but its size is never sealed: its owner could truncate it under the mapping.
      const directory = devShm();
      if (directory === undefined) this.skip();
      const shared = join(directory, `fabric-shm-test-${process.pid}`);
      const unsealed = openSync(shared, 'w+');
      try {
        ftruncateSync(unsealed, 4096);
        assert.throws(() => native.shmMap(unsealed, 4096), /not sealed against shrinking \(F_SEAL_SHRINK\)/);
      } finally {
        closeSync(unsealed);
        unlinkSync(shared);
      }
    });

    it('detaches a mapping on shmUnmap (its views go empty), and a second shmUnmap does nothing', () => {
      const fd = native.shmCreate(4096);
      const memory = native.shmMap(fd, 4096);
      const view = new Uint8Array(memory);
      view[0] = 1;
      native.shmUnmap(memory);
      assert.equal(memory.byteLength, 0);
      assert.equal(view.length, 0);
      assert.equal(view[0], undefined);
      native.shmUnmap(memory);
      assert.equal(memory.byteLength, 0);
      // The memory itself lives on in the memfd.
      const again = native.shmMap(fd, 4096);
      assert.equal(new Uint8Array(again)[0], 1);
      native.shmUnmap(again);
      assert.equal(native.closeDescriptor(fd), 0);
      assert.equal(native.closeDescriptor(fd), -EBADF);
    });

    it('refuses to unmap an ArrayBuffer it did not map', () => {
      const other = new ArrayBuffer(4096);
      assert.throws(() => native.shmUnmap(other), TypeError);
      assert.equal(other.byteLength, 4096);
    });

    it('gives 200 create/map/unmap/close cycles back: descriptors and mappings stay flat', () => {
      const cycle = () => {
        const fd = native.shmCreate(65536);
        const memory = native.shmMap(fd, 65536);
        new Uint8Array(memory)[100] = 1;
        native.shmUnmap(memory);
        assert.equal(native.closeDescriptor(fd), 0);
      };
      cycle();
      const descriptorsBefore = openDescriptors();
      const mappingsBefore = mappings();
      for (let i = 0; i < 200; i++) cycle();
      const mappingsAfter = mappings();
      assert.equal(openDescriptors(), descriptorsBefore, 'descriptors');
      assert.equal(mappingsAfter.memfds, mappingsBefore.memfds, 'memfd mappings');
      // The heap may map a page more meanwhile: a few lines of slack, against 200 cycles' worth.
      assert.ok(
        mappingsAfter.all <= mappingsBefore.all + 4,
        `lines of /proc/self/maps: ${mappingsBefore.all} before, ${mappingsAfter.all} after`,
      );
    });

    it('unmaps a mapping whose ArrayBuffer is collected without shmUnmap', async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const before = mappings().memfds;
      (() => {
        for (let i = 0; i < 20; i++) {
          const fd = native.shmCreate(4096);
          native.shmMap(fd, 4096);
          native.closeDescriptor(fd);
        }
      })();
      assert.equal(mappings().memfds, before + 20);
      // The finalizer runs on the loop after the collection (an immediate).
      for (let tries = 0; tries < 100 && mappings().memfds > before; tries++) {
        gc();
        await sleep(20);
      }
      assert.equal(mappings().memfds, before);
    });

    it("unmaps a worker's mappings when the worker ends without unmapping them", async () => {
      const module = join(__dirname, '..', '..', '..', 'src', 'transports', 'shm', 'native.js');
      const before = mappings().memfds;
      const worker = new Worker(
        `const { parentPort } = require('node:worker_threads');
         const native = require(${JSON.stringify(module)}).shmNative();
         const kept = [];
         for (let i = 0; i < 5; i++) {
           const fd = native.shmCreate(4096);
           kept.push(native.shmMap(fd, 4096));
           native.closeDescriptor(fd);
         }
         new Uint8Array(kept[0])[0] = 1;
         parentPort.postMessage('mapped');
         setInterval(() => kept.length, 1000);`,
        { eval: true },
      );
      await within(
        10000,
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
        }),
        'the worker mapping memory',
      );
      assert.equal(mappings().memfds, before + 5);
      await worker.terminate();
      for (let tries = 0; tries < 50 && mappings().memfds > before; tries++) await sleep(20);
      assert.equal(mappings().memfds, before);
    });
  });

  describe('eventfd doorbells', () => {
    it('count signals until drained, and say 0 when nothing was signalled', () => {
      const fd = native.eventfdCreate();
      try {
        assert.equal(native.eventfdDrain(fd), 0);
        for (let i = 0; i < 3; i++) assert.equal(native.eventfdSignal(fd), 0);
        assert.equal(native.eventfdDrain(fd), 3);
        assert.equal(native.eventfdDrain(fd), 0);
        assert.equal(native.eventfdSignal(fd), 0);
        assert.equal(native.eventfdDrain(fd), 1);
      } finally {
        assert.equal(native.closeDescriptor(fd), 0);
      }
      assert.equal(native.eventfdSignal(fd), -EBADF);
      assert.equal(native.eventfdDrain(fd), -EBADF);
    });

    it('wake a DescriptorWatcher when signalled', async () => {
      const fd = native.eventfdCreate();
      let watcher: { close(): void } | undefined;
      try {
        const rang = new Promise<number>((resolve) => {
          watcher = new native.DescriptorWatcher(fd, () => resolve(native.eventfdDrain(fd)));
        });
        native.eventfdSignal(fd);
        native.eventfdSignal(fd);
        assert.equal(await within(2000, rang, 'the doorbell'), 2);
      } finally {
        watcher?.close();
        native.closeDescriptor(fd);
      }
    });
  });

  describe('descriptors over a Unix socket', () => {
    it('pass a memfd that maps to the same memory at the other end', async () => {
      const pair = await socketPair();
      const descriptorsBefore = openDescriptors();
      try {
        const senderFd = descriptorOf(pair.sender);
        const receiverFd = descriptorOf(pair.receiver);
        assert.equal(native.receiveDescriptors(receiverFd, 8), -EAGAIN, 'nothing sent yet');
        const fd = native.shmCreate(8192);
        const memory = native.shmMap(fd, 8192);
        const bytes = pattern(500, 9);
        new Uint8Array(memory).set(bytes, 100);
        let watcher: { close(): void } | undefined;
        const readable = new Promise<void>((resolve) => {
          watcher = new native.DescriptorWatcher(receiverFd, resolve);
        });
        assert.equal(native.sendDescriptors(senderFd, [fd]), 0);
        await within(2000, readable, 'the descriptors');
        watcher?.close();
        const got = native.receiveDescriptors(receiverFd, 8);
        assert.ok(typeof got !== 'number', `receiveDescriptors: ${got}`);
        assert.equal(got.bytes, 1);
        assert.equal(got.fds.length, 1);
        assert.notEqual(got.fds[0], fd);
        const theirs = native.shmMap(got.fds[0], 8192);
        assert.deepEqual(new Uint8Array(theirs, 100, 500), bytes);
        new Uint8Array(theirs)[0] = 0x5a;
        assert.equal(new Uint8Array(memory)[0], 0x5a);
        native.shmUnmap(theirs);
        native.shmUnmap(memory);
        assert.equal(native.closeDescriptor(got.fds[0]), 0);
        assert.equal(native.closeDescriptor(fd), 0);
        assert.equal(openDescriptors(), descriptorsBefore, 'descriptors');
      } finally {
        await pair.close();
      }
    });

    it('close the descriptors beyond max, and say the end of the stream', async () => {
      const pair = await socketPair();
      try {
        const receiverFd = descriptorOf(pair.receiver);
        const bells = [native.eventfdCreate(), native.eventfdCreate(), native.eventfdCreate()];
        assert.equal(native.sendDescriptors(descriptorOf(pair.sender), bells), 0);
        assert.equal(native.sendDescriptors(descriptorOf(pair.sender), []), 0);
        for (const bell of bells) native.closeDescriptor(bell);
        const descriptorsBefore = openDescriptors();
        let got = native.receiveDescriptors(receiverFd, 1);
        for (let tries = 0; got === -EAGAIN && tries < 100; tries++) {
          await sleep(10);
          got = native.receiveDescriptors(receiverFd, 1);
        }
        assert.ok(typeof got !== 'number', `receiveDescriptors: ${got}`);
        assert.equal(got.bytes, 1);
        assert.equal(got.fds.length, 1);
        assert.equal(openDescriptors(), descriptorsBefore + 1, 'the other two were closed');
        // The one kept is one of the eventfds, working.
        assert.equal(native.eventfdSignal(got.fds[0]), 0);
        assert.equal(native.eventfdDrain(got.fds[0]), 1);
        native.closeDescriptor(got.fds[0]);
        assert.deepEqual(native.receiveDescriptors(receiverFd, 8), { bytes: 1, fds: [] });
        pair.sender.destroy();
        let end = native.receiveDescriptors(receiverFd, 8);
        for (let tries = 0; end === -EAGAIN && tries < 100; tries++) {
          await sleep(10);
          end = native.receiveDescriptors(receiverFd, 8);
        }
        assert.deepEqual(end, { bytes: 0, fds: [] });
      } finally {
        await pair.close();
      }
    });

    it("tell the peer's pid, uid and gid, and -errno on what is not a Unix socket", async () => {
      const pair = await socketPair();
      try {
        for (const socket of [pair.sender, pair.receiver]) {
          assert.deepEqual(native.peerCredentials(descriptorOf(socket)), {
            pid: process.pid,
            uid: process.getuid?.(),
            gid: process.getgid?.(),
          });
        }
      } finally {
        await pair.close();
      }
      const fd = native.eventfdCreate();
      assert.equal(native.peerCredentials(fd), -ENOTSOCK);
      native.closeDescriptor(fd);
      assert.equal(native.peerCredentials(2147483000), -EBADF);
      assert.equal(native.sendDescriptors(2147483000, []), -EBADF);
      assert.equal(native.receiveDescriptors(2147483000, 1), -EBADF);
    });
  });

  describe('copies by address', () => {
    it('read and write memory of a process (ours) at an address memoryAddress gave', () => {
      const source = pattern(10000, 5);
      const target = new Uint8Array(10000);
      assert.equal(native.processRead(process.pid, target, native.memoryAddress(source)), 10000);
      assert.deepEqual(target, source);
      const written = pattern(3000, 11);
      const view = new DataView(target.buffer, 1000, 3000);
      assert.equal(native.memoryAddress(view), native.memoryAddress(target) + 1000n);
      assert.equal(native.processWrite(process.pid, written, native.memoryAddress(view)), 3000);
      assert.deepEqual(target.subarray(1000, 4000), written);
      assert.deepEqual(target.subarray(0, 1000), source.subarray(0, 1000));
      const words = new Uint32Array(4);
      assert.equal(native.processRead(process.pid, words, native.memoryAddress(source)), 16);
      assert.equal(native.processRead(process.pid, new Uint8Array(0), 0n), 0);
    });

    it('say -ESRCH for a process that does not exist and -EFAULT for an address that is not mapped', () => {
      const local = new Uint8Array(64);
      assert.equal(native.processRead(0x7ffffff0, local, native.memoryAddress(local)), -ESRCH);
      assert.equal(native.processWrite(0x7ffffff0, local, native.memoryAddress(local)), -ESRCH);
      assert.equal(native.processRead(process.pid, local, 0n), -EFAULT);
      assert.equal(native.processWrite(process.pid, local, 8n), -EFAULT);
      assert.equal(native.processRead(process.pid, local, 2n ** 64n - 8n), -EFAULT);
    });
  });

  it('throws a TypeError on arguments of the wrong kind, without calling the kernel', () => {
    const view = new Uint8Array(8);
    const wrong: [string, () => unknown][] = [
      ['shmCreate()', () => (native.shmCreate as (...a: unknown[]) => number)()],
      ['shmCreate("8")', () => native.shmCreate('8' as unknown as number)],
      ['shmCreate(0)', () => native.shmCreate(0)],
      ['shmCreate(1.5)', () => native.shmCreate(1.5)],
      ['shmCreate(-1)', () => native.shmCreate(-1)],
      ['shmCreate(2 ** 60)', () => native.shmCreate(2 ** 60)],
      ['shmMap(0.5, 8)', () => native.shmMap(0.5, 8)],
      ['shmMap(3, "8")', () => native.shmMap(3, '8' as unknown as number)],
      ['shmMap(3, NaN)', () => native.shmMap(3, Number.NaN)],
      ['shmUnmap({})', () => native.shmUnmap({} as ArrayBuffer)],
      ['shmUnmap(view)', () => native.shmUnmap(view as unknown as ArrayBuffer)],
      ['eventfdSignal("3")', () => native.eventfdSignal('3' as unknown as number)],
      ['eventfdDrain(null)', () => native.eventfdDrain(null as unknown as number)],
      ['sendDescriptors(3, "x")', () => native.sendDescriptors(3, 'x' as unknown as number[])],
      ['sendDescriptors(3, [1.5])', () => native.sendDescriptors(3, [1.5])],
      ['sendDescriptors(3, 9 fds)', () => native.sendDescriptors(3, [1, 2, 3, 4, 5, 6, 7, 8, 9])],
      ['receiveDescriptors(3, -1)', () => native.receiveDescriptors(3, -1)],
      ['receiveDescriptors(3)', () => (native.receiveDescriptors as (...a: unknown[]) => unknown)(3)],
      ['peerCredentials(1n)', () => native.peerCredentials(1n as unknown as number)],
      ['closeDescriptor(undefined)', () => native.closeDescriptor(undefined as unknown as number)],
      ['closeDescriptor(2 ** 40)', () => native.closeDescriptor(2 ** 40)],
      ['processRead("1", view, 0n)', () => native.processRead('1' as unknown as number, view, 0n)],
      ['processRead(0, view, 0n)', () => native.processRead(0, view, 0n)],
      ['processRead(pid, [], 0n)', () => native.processRead(process.pid, [] as unknown as Uint8Array, 0n)],
      ['processRead(pid, ArrayBuffer, 0n)', () => native.processRead(process.pid, view.buffer as never, 0n)],
      ['processRead(pid, view, 0)', () => native.processRead(process.pid, view, 0 as unknown as bigint)],
      ['processWrite(pid, view, -1n)', () => native.processWrite(process.pid, view, -1n)],
      ['processWrite(pid, view, 2n ** 64n)', () => native.processWrite(process.pid, view, 2n ** 64n)],
      ['memoryAddress(ArrayBuffer)', () => native.memoryAddress(new ArrayBuffer(8) as never)],
      [
        'new DescriptorWatcher("1", fn)',
        () => new native.DescriptorWatcher('1' as unknown as number, () => {}),
      ],
      [
        'new DescriptorWatcher(1, null)',
        () => new native.DescriptorWatcher(1, null as unknown as () => void),
      ],
    ];
    const descriptorsBefore = openDescriptors();
    for (const [call, run] of wrong) assert.throws(run, TypeError, call);
    assert.equal(openDescriptors(), descriptorsBefore);
  });
});
