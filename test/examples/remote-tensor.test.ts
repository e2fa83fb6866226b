// The API-forwarding example (examples/remote-tensor): the same application on a local and a remote device,
// several client applications against one server, each isolated from the others, and bad calls refused
// without harm. Runs on FABRIC_TRANSPORT (default tcp) at FABRIC_TEST_HOST, like the worker tests.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Op } from '../../examples/remote-tensor/calls.js';
import type { Device } from '../../examples/remote-tensor/device.js';
import { LocalDevice } from '../../examples/remote-tensor/local-device.js';
import { fixedRandom, Mlp, SHAPE } from '../../examples/remote-tensor/mlp.js';
import { RemoteDevice, type Transfer } from '../../examples/remote-tensor/remote-device.js';
import { serveDeviceClient } from '../../examples/remote-tensor/server.js';
import { connect, type Listener, listen, stats } from '../../src/index.js';
import { HOST, rejectsWith, usableTransports, within } from '../helpers.js';

/** Runs the MLP on `device` over a batch of `rows`; the probabilities it computed. */
async function classify(device: Device, rows: number, seed = 5): Promise<Float32Array> {
  const model = await Mlp.load(device);
  const output = new Float32Array(rows * SHAPE.outputs);
  await model.infer(fixedRandom(rows * SHAPE.inputs, seed), output, rows);
  await model.unload();
  return output;
}

async function rejectsWithDeviceError(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: { name?: string; code?: string }) => {
    assert.equal(error.name, 'DeviceError');
    assert.equal(error.code, code);
    return true;
  });
}

for (const transport of usableTransports()) {
  describe(`remote-tensor example: ${transport} on ${HOST}`, () => {
    let listener: Listener;
    const served: Promise<void>[] = [];

    beforeEach(async () => {
      listener = await listen({ host: HOST, port: 0, transport });
      void (async () => {
        for await (const connection of listener) served.push(serveDeviceClient(connection));
      })();
    });

    afterEach(async () => {
      await listener.close();
      await within(5000, Promise.all(served.splice(0)), 'every client served to its end');
    });

    const remote = (transfer: Transfer = 'zero-copy') =>
      RemoteDevice.connect({ host: HOST, port: listener.port, transport, transfer });

    for (const transfer of ['zero-copy', 'inline'] as const) {
      it(`computes exactly what the local device computes (${transfer})`, async () => {
        const expected = await classify(new LocalDevice(), 32);
        const device = await remote(transfer);
        const before = stats();
        assert.deepEqual(await classify(device, 32), expected);
        const moved = stats();
        await device.close();
        const oneSided = moved.reads - before.reads + (moved.writes - before.writes);
        if (transfer === 'zero-copy') {
          // Five tensors in (four weights, the batch), one out: each a one-sided operation, none in a message.
          assert.equal(oneSided, 6);
          // The calls themselves are small messages, copied into RDMA's registered buffers, or on TCP out of the
          // read that brought them with their header. Either way far less than one tensor: the five are 305 KiB.
          assert.ok(moved.copiedBytes - before.copiedBytes < 4096, 'no tensor copied');
        } else {
          assert.equal(oneSided, 0, 'the naive calls carry the tensors in their messages');
        }
      });
    }

    it('registers a host array once, however often it is copied', async () => {
      const device = await remote();
      const host = fixedRandom(1024, 9);
      const pointer = await device.alloc(host.byteLength);
      for (let i = 0; i < 5; i++) await device.copyIn(pointer, host);
      const back = new Float32Array(1024);
      for (let i = 0; i < 5; i++) await device.copyOut(back, pointer);
      assert.deepEqual(back, host);
      assert.equal(device.hostRegistrations, 2);
      await device.close();
    });

    it('serves two applications at once, each with its own memory that the other cannot touch', async () => {
      const [alice, bob] = [await remote(), await remote()];
      const [expectedAlice, expectedBob] = [
        await classify(new LocalDevice(), 16, 11),
        await classify(new LocalDevice(), 24, 12),
      ];
      const [outAlice, outBob] = await Promise.all([classify(alice, 16, 11), classify(bob, 24, 12)]);
      assert.deepEqual(outAlice, expectedAlice);
      assert.deepEqual(outBob, expectedBob);

      const secret = fixedRandom(256, 13);
      const alicePointer = await alice.alloc(secret.byteLength);
      await alice.copyIn(alicePointer, secret);
      const stolen = new Float32Array(256);
      await rejectsWithDeviceError(bob.copyOut(stolen, alicePointer), 'EACCES');
      await rejectsWithDeviceError(bob.copyIn(alicePointer, new Float32Array(256)), 'EACCES');
      await bob.launch('relu', [256, alicePointer]);
      await rejectsWithDeviceError(bob.synchronize(), 'EACCES');
      await bob.free(alicePointer);
      await rejectsWithDeviceError(bob.synchronize(), 'EACCES');
      assert.ok(stolen.every((value) => value === 0));
      const check = new Float32Array(256);
      await alice.copyOut(check, alicePointer);
      assert.deepEqual(check, secret, "Alice's memory is untouched");
      await Promise.all([alice.close(), bob.close()]);
    });

    it('refuses bad calls with a clear code and keeps serving', async () => {
      const device = await remote();
      await rejectsWithDeviceError(device.alloc(0), 'EINVAL');
      await rejectsWithDeviceError(device.alloc(6), 'EINVAL');
      await rejectsWithDeviceError(device.alloc(2 ** 40), 'ENOMEM');
      const small = await device.alloc(64);
      await rejectsWithDeviceError(device.copyIn(small, new Float32Array(32)), 'ERANGE');
      await device.launch('saxpy', [1000, 2, small, small]);
      await rejectsWithDeviceError(device.synchronize(), 'ERANGE');
      // No rows: nothing to compute, however large the other dimensions claim to be.
      await device.launch('matmul', [0, 0, 2 ** 52, small, small, small]);
      await device.synchronize();
      await device.launch('matmul', [1, 1]);
      await rejectsWithDeviceError(device.synchronize(), 'EINVAL');
      await rejectsWithDeviceError(device.launch('fft' as never, []), 'EINVAL');
      // The first error since the last synchronous call is the one reported; later calls work again.
      await device.launch('relu', [-1, small]);
      await device.free(12345678);
      await rejectsWithDeviceError(device.synchronize(), 'EINVAL');
      await device.synchronize();
      const values = new Float32Array([1, -2, 3, -4]);
      await device.copyIn(small, values);
      await device.launch('relu', [4, small]);
      const out = new Float32Array(4);
      await device.copyOut(out, small);
      assert.deepEqual(out, new Float32Array([1, 0, 3, 0]));
      await device.close();
    });

    it('drops a client that sends malformed calls, and serves the others', async () => {
      const rogue = await connect({ host: HOST, port: listener.port, transport });
      const device = await remote();
      await rogue.send(new Uint8Array([Op.Launch, 200, 0]));
      await within(5000, rejectsWith(rogue.receive(), 'ECLOSED'), 'the server closing the rogue connection');
      assert.deepEqual(await classify(device, 4), await classify(new LocalDevice(), 4));
      await Promise.all([rogue.close(), device.close()]);
    });
  });
}

describe('remote-tensor example: one command', () => {
  it('runs the application locally and against a server process, with identical output', async function () {
    this.timeout(60000);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(__dirname, '..', '..', 'examples', 'remote-tensor', 'demo.js')],
      { env: { ...process.env, REMOTE_TENSOR_HOST: HOST } },
    );
    assert.match(stdout, /identical output on the local and the remote device/);
  });
});
