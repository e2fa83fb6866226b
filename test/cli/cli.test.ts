// The fabric-transport command, as a script would run it: output, exit codes.
import * as assert from 'node:assert/strict';
import { fabricTransport } from '../fixtures/cli.js';

describe('the fabric-transport command', () => {
  it('info lists every transport, with the reason for each one that is unavailable', () => {
    const { status, stdout } = fabricTransport('info', '--json');
    assert.equal(status, 0);
    const report = JSON.parse(stdout);
    assert.deepEqual(
      report.transports.map((info: { kind: string }) => info.kind),
      ['tcp', 'roce', 'ib', 'shm'],
    );
    for (const info of report.transports)
      assert.ok(info.available || info.reason.length > 10, JSON.stringify(info));
    const text = fabricTransport('info');
    assert.equal(text.status, 0);
    assert.match(text.stdout, /tcp +available/);
  });

  it("info --peer says which transport 'auto' uses for a peer, and why", () => {
    const { status, stdout } = fabricTransport('info', '--peer', '127.0.0.1', '--json');
    assert.equal(status, 0);
    const { peer } = JSON.parse(stdout);
    const shm = JSON.parse(stdout).transports.some(
      (info: { kind: string; available: boolean }) => info.kind === 'shm' && info.available,
    );
    assert.equal(peer.transport, shm ? 'shm' : 'tcp');
    assert.ok(peer.reason.length > 10);
    // Another host (TEST-NET-1: nothing is sent there): not shared memory, and why.
    const remote = JSON.parse(fabricTransport('info', '--peer', '192.0.2.1', '--json').stdout).peer;
    assert.equal(remote.transport, 'tcp');
  });

  it('answers help with usage, and bad usage with exit code 2 and a plain message', () => {
    for (const args of [['help'], ['--help'], ['info', '--help']]) {
      const { status, stdout } = fabricTransport(...args);
      assert.equal(status, 0);
      assert.match(stdout, /usage: fabric-transport/);
    }
    for (const args of [
      ['frobnicate'],
      ['info', '--peer'],
      ['info', '--colour'],
      ['info', '--device', '^^'],
    ]) {
      const { status, stderr } = fabricTransport(...args);
      assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, /^fabric-transport: /);
    }
  });

  it('refuses an unknown option, a missing value and a stray argument with exit code 2, in plain words', () => {
    for (const [args, message] of [
      [['info', '--colour'], /^fabric-transport: unknown option --colour\n/],
      [['info', '-x'], /^fabric-transport: unknown option -x\n/],
      [['info', '--peer'], /^fabric-transport: --peer needs a value\n/],
      [['info', '--peer', '--json'], /^fabric-transport: --peer needs a value\n/],
      [['info', '--peer='], /^fabric-transport: --peer needs a value\n/],
      [['info', '--json=yes'], /^fabric-transport: --json takes no value\n/],
      [['info', 'localhost'], /^fabric-transport: unexpected argument "localhost"\n/],
      [['info', '--json', '--', 'localhost'], /^fabric-transport: unexpected argument "localhost"\n/],
      [['pingpong', '--listen', '--port', '-1'], /^fabric-transport: --port needs a value \(--port=-1 /],
    ] as const) {
      const { status, stdout, stderr } = fabricTransport(...args);
      assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
      // The message comes with the command's usage.
      assert.match(stderr, new RegExp(`usage: fabric-transport ${args[0]}`));
      assert.equal(stdout, '');
    }
  });

  it('takes --name=value as well as --name value', () => {
    const { status, stdout, stderr } = fabricTransport('info', '--peer=127.0.0.1', '--json');
    assert.equal(status, 0, stderr);
    assert.equal(JSON.parse(stdout).peer.host, '127.0.0.1');
    const invalid = fabricTransport('info', '--device=^^');
    assert.equal(invalid.status, 2);
    assert.match(invalid.stderr, /^fabric-transport: .*device/);
  });
});
