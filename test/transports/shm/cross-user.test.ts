// Where the kernel refuses one direction of process_vm_readv/writev (a peer under another uid cannot reach a
// root process; root reaches it): the operations that direction would take go through the ring, the others
// with one copy, and both land intact.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { listen, register, stats } from '../../../src/index.js';
import { pattern, usableTransports } from '../../helpers.js';

const PEER = join(__dirname, '..', '..', 'fixtures', 'shm-peer.js');
const SIZE = 1 << 20;
const NOBODY = 65534;

const runnable = usableTransports().includes('shm') && process.getuid?.() === 0;

(runnable ? describe : describe.skip)('shm: a peer under another uid', function () {
  this.timeout(30_000);

  it('copies once where the kernel lets it and through the ring where it does not, intact both ways', async () => {
    const listener = await listen({ host: '127.0.0.1', transport: 'shm', shmCopy: 'auto' });
    const child = spawn(process.execPath, [PEER, '127.0.0.1', String(listener.port)], {
      uid: NOBODY,
      gid: NOBODY,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FABRIC_SHM_COPY: 'auto' },
    });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    const exited = once(child, 'exit');
    try {
      const connection = await listener.accept();
      const region = register(new Uint8Array(SIZE), { peers: [connection] });
      const theirs = await connection.receive();
      await connection.send(region.descriptor);
      const before = stats();
      assert.equal(Buffer.from(await connection.receive()).toString(), 'written');
      assert.ok(Buffer.from(region.bytes).equals(Buffer.from(pattern(SIZE, 5))), 'the peer wrote intact');
      const afterTheirs = stats();
      // Its write and read came by reference: this side (root) copied them, the kernel letting it.
      assert.ok(
        afterTheirs.kernelCopiedBytes - before.kernelCopiedBytes >= 2 * SIZE,
        'copied once by the kernel',
      );
      await connection.write(register(pattern(SIZE, 6)), theirs);
      const afterOurs = stats();
      // Ours to it goes through the ring: it cannot reach a root process, so it never said it could.
      assert.equal(afterOurs.kernelCopiedBytes, afterTheirs.kernelCopiedBytes);
      assert.ok(afterOurs.copiedBytes - afterTheirs.copiedBytes >= SIZE, 'copied through the ring');
      await connection.send(Buffer.from('done'));
      const [code] = await exited;
      assert.equal(code, 0);
      assert.equal(output.trim(), 'ok');
      await connection.close();
    } finally {
      child.kill('SIGKILL');
      await listener.close();
    }
  });
});
