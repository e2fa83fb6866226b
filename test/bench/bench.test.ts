// `fabric-transport bench` and `pingpong` as a user runs them: output shape and files, never timings.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installed } from '../../bench/peers/tool.js';
import { progressReporter } from '../../bench/report/progress.js';
import type { BenchResults } from '../../bench/results.js';
import { checkAnswer } from '../../bench/service.js';
import { connect, transports } from '../../src/index.js';
import {
  fabricTransport,
  fabricTransportWith,
  startFabricTransport,
  stopFabricTransport,
} from '../fixtures/cli.js';

const QUICK = ['--iterations', '5', '--quiet'];

/** A PATH, under `dir`, with node alone on it: iperf3, ucx_perftest and the C compiler cannot be found. */
function nodeAlone(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  return bin;
}

describe('fabric-transport bench', function () {
  this.timeout(120_000);
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'fabric-bench-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('measures every pattern asked for over TCP, latency in every poll mode, and writes the JSON, the chart and the table', () => {
    const patterns = ['latency', 'write', 'read', 'messages', 'registration', 'tensor'];
    const { status, stdout, stderr } = fabricTransportWith(
      {},
      60_000,
      'bench',
      '--transport',
      'tcp',
      '--no-peers',
      '--pattern',
      patterns.join(','),
      '--sizes',
      '8,64K',
      '--rounds',
      '2',
      '--json',
      '--out',
      out,
      ...QUICK,
    );
    assert.equal(status, 0, stderr);
    const results = JSON.parse(stdout) as BenchResults;
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), results);
    assert.equal(results.node, process.version);
    assert.ok(results.machine.cpus > 0 && results.machine.memoryBytes > 0);
    assert.deepEqual(results.settings.transports, ['tcp']);
    assert.deepEqual(
      results.series.map((s) => [s.name, s.role, s.pattern]),
      [
        ['tcp', 'ours', 'latency'],
        ['tcp spin', 'ours', 'latency'],
        ['tcp hybrid', 'ours', 'latency'],
        ...patterns.slice(1).map((pattern) => ['tcp', 'ours', pattern]),
      ],
    );
    for (const series of results.series) {
      assert.deepEqual(
        series.points.map((p) => p.size),
        [8, 65536],
      );
      for (const point of series.points) {
        assert.equal(point.rounds.length, 2);
        assert.ok(point.median > 0 && point.operations >= 10, JSON.stringify(point));
        assert.ok(point.min <= point.median && point.median <= point.max, JSON.stringify(point));
      }
    }
    assert.ok(results.series[0]?.points.every((p) => p.p99 !== undefined && p.p99 >= p.median));
    const svg = readFileSync(join(out, 'chart.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, />tcp</);
    const table = readFileSync(join(out, 'table.md'), 'utf8');
    assert.match(
      table,
      /^2 rounds: medians, ± half the rounds' range .*\n\nlatency: .*\n\n\| size \| tcp \| tcp spin \| tcp hybrid \|\n/,
    );
    assert.match(table, /\| 8 B \|( [\d.]+ ±\d+% \(p99 [\d.]+\) \|){3}\n/);
  });

  it('shows the peers beside TCP with ratios, and names the package of each missing tool', () => {
    const { status, stdout, stderr } = fabricTransportWith(
      { PATH: nodeAlone(out) },
      60_000,
      'bench',
      '--transport',
      'tcp',
      '--pattern',
      'latency,write',
      '--poll',
      'event',
      '--sizes',
      '4K',
      '--rounds',
      '1',
      '--out',
      out,
      ...QUICK,
    );
    assert.equal(status, 0, stderr);
    assert.match(
      stdout,
      /\| size \| tcp \| node:net \| tcp \/ node:net \|\n\|---:\|---:\|---:\|---:\|\n\| 4 KiB \| [\d.]+ \(p99 [\d.]+\) \| [\d.]+ \(p99 [\d.]+\) \| [\d.]+ \|/,
    );
    assert.match(stdout, /\| size \| tcp \| node:net stream \| tcp \/ node:net stream \|/);
    assert.match(stdout, /iperf3: not installed \(Debian package: iperf3\)/);
    assert.match(stdout, /ucx_perftest: not installed \(Debian package: ucx-utils\)/);
    assert.match(stdout, /cc: not installed \(Debian package: gcc\)/);
    assert.ok(existsSync(join(out, 'chart.svg')));
  });

  describe('beside shared memory', () => {
    const shmArgs = ['--transport', 'shm', '--poll', 'event', '--rounds', '1', '--out'];
    beforeEach(function () {
      if (!transports().some((info) => info.kind === 'shm' && info.available)) this.skip();
    });

    it('names the package of each missing tool of its family, and none of the sockets family', () => {
      const { status, stdout, stderr } = fabricTransportWith(
        { PATH: nodeAlone(out) },
        60_000,
        'bench',
        ...shmArgs,
        out,
        '--pattern',
        'latency,write',
        '--sizes',
        '4K',
        ...QUICK,
      );
      assert.equal(status, 0, stderr);
      assert.match(
        stdout,
        /\nlatency: .*\n\n\| size \| shm \|\n\|---:\|---:\|\n\| 4 KiB \| [\d.]+ \(p99 [\d.]+\) \|\n/,
      );
      assert.match(stdout, /\nwrite: .*\n\n\| size \| shm \|\n/);
      assert.match(
        stdout,
        /\npeers not measured:\n- ucx_perftest: not installed \(Debian package: ucx-utils\)\n- cc: not installed \(Debian package: gcc\)\n\n/,
      );
    });

    it('shows ucx_perftest over posix and cma and the C copy loops, with ratios, where they are installed', async function () {
      if (!(await installed('ucx_perftest')) || !(await installed('cc'))) this.skip();
      const { status, stdout, stderr } = fabricTransportWith(
        {},
        60_000,
        'bench',
        ...shmArgs,
        out,
        '--pattern',
        'latency,messages',
        '--sizes',
        '64K',
        ...QUICK,
      );
      assert.equal(status, 0, stderr);
      assert.match(
        stdout,
        /\| size \| shm \| ucx_perftest tag_lat \(posix\) \| shm \/ ucx_perftest tag_lat \(posix\) \|\n\|---:\|---:\|---:\|---:\|\n\| 64 KiB \| [\d.]+ \(p99 [\d.]+\) \| [\d.]+ \| [\d.]+ \|\n/,
      );
      const peers = [
        'ucx_perftest tag_bw (posix)',
        'ucx_perftest tag_bw (cma)',
        'C process_vm_writev',
        'C memcpy',
      ];
      const header = `| size | shm | ${peers.join(' | ')} | ${peers.map((p) => `shm / ${p}`).join(' | ')} |`;
      assert.ok(stdout.includes(`\n\n${header}\n`), stdout);
      assert.match(stdout, /\n\| 64 KiB \|( [\d.]+ \|){9}\n/);
      assert.doesNotMatch(stdout, /peers not measured/);
    });
  });

  it('refuses bad usage with exit code 2; a transport it cannot measure, or an --out it cannot write, with 1', () => {
    for (const args of [
      ['--pattern', 'latency,bogus'],
      ['--sizes', '0'],
      ['--sizes', '12Q'],
      ['--iterations', '0'],
      ['--duration', 'soon'],
      ['--transport', 'carrier-pigeon'],
      ['--rounds'],
      ['--duration', '1', '--iterations', '5'],
    ]) {
      const { status, stderr } = fabricTransport('bench', ...args);
      assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, /^fabric-transport: .*\n\nusage: fabric-transport bench/);
    }
    const { status, stderr } = fabricTransportWith(
      { FABRIC_DEVICE: 'no_such_device' },
      20_000,
      'bench',
      '--transport',
      'roce',
      ...QUICK,
    );
    assert.equal(status, 1, stderr);
    assert.match(stderr, /^fabric-transport: ENODEV: roce is unavailable here: .+/);
    const fromEnvironment = fabricTransportWith({ FABRIC_TRANSPORT: 'ib' }, 20_000, 'bench', ...QUICK);
    assert.equal(fromEnvironment.status, 1, fromEnvironment.stderr);
    assert.match(fromEnvironment.stderr, /^fabric-transport: ENODEV: ib is unavailable here: /);
    const badEnvironment = fabricTransportWith(
      { FABRIC_TRANSPORT: 'smoke-signals' },
      20_000,
      'bench',
      ...QUICK,
    );
    assert.equal(badEnvironment.status, 2);
    assert.match(badEnvironment.stderr, /^fabric-transport: FABRIC_TRANSPORT=smoke-signals is invalid/);
    const unwritable = fabricTransport('bench', '--out', '/etc/hostname/results', ...QUICK);
    assert.equal(unwritable.status, 1, unwritable.stderr);
    assert.match(
      unwritable.stderr,
      /^fabric-transport: EACCES: --out \/etc\/hostname\/results: cannot write there/,
    );
  });
});

describe('fabric-transport pingpong', function () {
  this.timeout(60_000);

  it('measures latency and write bandwidth against a server in another process, which keeps serving', async () => {
    const { child, match } = await startFabricTransport(
      /listening on 127\.0\.0\.1:(\d+)/,
      'pingpong',
      '--listen',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    );
    try {
      const port = match[1] as string;
      // A client that does not speak the bench protocol is dropped; the server carries on.
      // A client asking for what the server does not serve, or for more memory than it lends, is told why
      // and dropped; the server carries on.
      for (const request of ['{"mode":"teleport"}', '{"mode":"region","bytes":1073741825}']) {
        const stranger = await connect({ host: '127.0.0.1', port: Number(port) });
        await stranger.send(new TextEncoder().encode(request));
        const answer = await stranger.receive();
        assert.throws(() => checkAnswer(answer), { name: 'FabricError', code: 'EINVAL' });
        await assert.rejects(stranger.receive(), { name: 'FabricError' });
        await stranger.close();
      }
      for (let run = 0; run < 2; run++) {
        const { status, stdout, stderr } = fabricTransportWith(
          {},
          30_000,
          'pingpong',
          '--connect',
          `127.0.0.1:${port}`,
          '--sizes',
          '8,1M',
          '--json',
          ...QUICK,
        );
        assert.equal(status, 0, stderr);
        const results = JSON.parse(stdout) as BenchResults;
        // 'auto' on both ends of this host: shared memory where the addon has it.
        const chosen = transports().some((info) => info.kind === 'shm' && info.available) ? 'shm' : 'tcp';
        assert.deepEqual(
          results.series.map((s) => [s.name, s.pattern, s.points.map((p) => p.size)]),
          [
            [chosen, 'latency', [8, 1 << 20]],
            [chosen, 'write', [8, 1 << 20]],
          ],
        );
      }
    } finally {
      assert.equal(await stopFabricTransport(child), 0);
    }
  });

  it('says plainly when nothing listens, and refuses bad usage with exit code 2', () => {
    const refused = fabricTransport('pingpong', '--connect', '127.0.0.1:1', ...QUICK);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /^fabric-transport: ECONNREFUSED: /);
    for (const args of [
      [],
      ['--listen', '--connect', 'x'],
      ['--connect', 'host:99999'],
      ['--listen', '--transport', 'tcp,roce'],
      ['--listen', '--rounds', '2'],
      ['--connect', 'x', '--port', '1'],
    ]) {
      const { status, stderr } = fabricTransport('pingpong', ...args);
      assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, /usage: fabric-transport pingpong/);
    }
    for (const command of ['bench', 'pingpong', 'info']) {
      const { status, stdout } = fabricTransport(command, '--help');
      assert.equal(status, 0);
      assert.match(stdout, new RegExp(`^usage: fabric-transport ${command}`));
    }
  });
});

describe('bench progress', () => {
  function capture(isTTY: boolean, columns?: number) {
    const writes: string[] = [];
    const stream = {
      isTTY,
      columns,
      write: (text: string) => writes.push(text),
    } as unknown as NodeJS.WriteStream;
    const report = progressReporter(stream);
    for (let done = 0; done < 20; done++) report(done, 20, `step ${done} of tcp latency 8 B`);
    report(20, 20, 'done');
    return writes;
  }

  it('draws a live bar on a terminal, whatever width it reports, and a line per tenth elsewhere', () => {
    for (const columns of [undefined, 0, 120]) {
      const writes = capture(true, columns);
      assert.equal(writes.length, 21);
      assert.ok(writes[3]?.startsWith('\r\u001b[2K'), 'each update clears the line');
      assert.match(writes[3] as string, /[█░]{24} +15% \d+:\d\d step 3 of tcp latency 8 B$/);
      assert.match(writes[20] as string, /█{24} 100% \d+:\d\d done\n$/);
    }
    const lines = capture(false);
    assert.equal(lines.length, 11);
    assert.match(lines[10] as string, /^bench: 100% after \d+:\d\d \(done\)\n$/);
  });
});
