// Installs the packed package into a fresh consumer project, as a user would, and uses it from ESM, CommonJS
// and TypeScript.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { atLeast } from './helpers.js';

const ROOT = resolve(__dirname, '..', '..');

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

describe('the npm package', function () {
  this.timeout(atLeast(this.timeout(), 120000));
  let consumer: string;

  before(() => {
    consumer = mkdtempSync(join(tmpdir(), 'fabric-consumer-'));
    const stage = join(ROOT, 'scripts', 'stage-package.mjs');
    const tarball = run(process.execPath, [stage, '--pack-destination', consumer], ROOT).trim();
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    run(
      'npm',
      ['install', '--offline', '--no-audit', '--no-fund', '--strict-allow-scripts', tarball],
      consumer,
    );
  });

  after(() => rmSync(consumer, { recursive: true, force: true }));

  const program = `
    const server = await listen({ port: 0 });
    const [client, conn] = await Promise.all([connect({ host: '127.0.0.1', port: server.port }), server.accept()]);
    await client.send(new TextEncoder().encode('ping'));
    const text = new TextDecoder().decode(await conn.receive());
    await Promise.all([client.close(), conn.close(), server.close()]);
    console.log(text, transports()[0].kind, new FabricError('EINVAL', 'x').code);
  `;

  it('is importable from ESM', () => {
    writeFileSync(
      join(consumer, 'esm.mjs'),
      `import { listen, connect, transports, FabricError } from 'fabric-transport';\n${program}`,
    );
    assert.equal(run('node', ['esm.mjs'], consumer).trim(), 'ping tcp EINVAL');
  });

  it('is requirable from CommonJS', () => {
    writeFileSync(
      join(consumer, 'cjs.cjs'),
      `const { listen, connect, transports, FabricError } = require('fabric-transport');\n(async () => {${program}})();`,
    );
    assert.equal(run('node', ['cjs.cjs'], consumer).trim(), 'ping tcp EINVAL');
  });

  it('loads its prebuilt native addon, with no compiler or install script involved', () => {
    writeFileSync(
      join(consumer, 'addon.cjs'),
      `const { transports } = require('fabric-transport');\nconsole.log(transports().find((t) => t.kind === 'roce').reason);`,
    );
    const reason = run('node', ['addon.cjs'], consumer).trim();
    assert.doesNotMatch(reason, /native addon/, reason);
  });

  it('works over RDMA from that install, on a host with an RDMA device (FABRIC_TEST_HOST)', function () {
    const host = process.env.FABRIC_TEST_HOST;
    if (!host || !process.env.FABRIC_TEST_DEVICE) this.skip();
    writeFileSync(
      join(consumer, 'rdma.cjs'),
      `const { listen, connect, register } = require('fabric-transport');
(async () => {
  const listener = await listen({ host: '${host}', port: 0, transport: 'roce' });
  const [client, server] = await Promise.all([connect({ host: '${host}', port: listener.port, transport: 'roce' }), listener.accept()]);
  const target = register(new Uint8Array(1 << 20));
  await server.send(target.descriptor);
  await client.write(register(new Uint8Array(1 << 20).fill(9)), await client.receive());
  console.log(client.transport, target.bytes.every((byte) => byte === 9));
  await Promise.all([client.close(), server.close(), listener.close()]);
})();`,
    );
    assert.equal(run('node', ['rdma.cjs'], consumer).trim(), 'roce true');
  });

  it('carries a linux-arm64 prebuild when one was cross-compiled, and every prebuild loads on glibc 2.28', function () {
    const prebuilds = join(consumer, 'node_modules', 'fabric-transport', 'prebuilds');
    const ELF_MACHINE = { 'linux-x64': 62, 'linux-arm64': 183 } as const;
    for (const [platform, machine] of Object.entries(ELF_MACHINE)) {
      const file = join(prebuilds, platform, 'fabric_transport.node');
      if (!existsSync(join(ROOT, 'prebuilds', platform))) continue;
      assert.ok(existsSync(file), `${platform} is packed`);
      assert.equal(readFileSync(file).readUInt16LE(18), machine, `${platform} is built for its architecture`);
      // Node 20 runs on glibc 2.28 (RHEL 8); a symbol versioned later would keep the addon from loading there.
      let symbols: string;
      try {
        symbols = run('objdump', ['-T', file], consumer);
      } catch {
        this.skip();
      }
      const versions = [...symbols.matchAll(/GLIBC_2\.(\d+)/g)].map((match) => Number(match[1]));
      assert.ok(Math.max(...versions) <= 28, `${platform} needs glibc 2.${Math.max(...versions)}`);
    }
  });

  it('installs the fabric-transport command, with its benchmark suite', () => {
    const command = join(consumer, 'node_modules', '.bin', 'fabric-transport');
    const report = JSON.parse(run(command, ['info', '--json'], consumer));
    assert.equal(report.transports[0].kind, 'tcp');
    const bench = [
      'bench',
      '--pattern',
      'latency,tensor',
      '--sizes',
      '64K',
      '--iterations',
      '3',
      '--rounds',
      '1',
    ];
    const results = JSON.parse(run(command, [...bench, '--no-peers', '--quiet', '--json'], consumer));
    assert.deepEqual(
      results.series
        .map((series: { name: string; pattern: string }) => `${series.name} ${series.pattern}`)
        .sort(),
      // Latency also busy-polled, in both modes; the other patterns in 'event' mode only.
      results.settings.transports
        .flatMap((kind: string) => [
          `${kind} latency`,
          `${kind} spin latency`,
          `${kind} hybrid latency`,
          `${kind} tensor`,
        ])
        .sort(),
    );
    assert.ok(existsSync(join(consumer, 'bench-results', 'chart.svg')));
  });

  it('shares one module instance between import and require', () => {
    writeFileSync(
      join(consumer, 'dual.mjs'),
      `import { createRequire } from 'node:module';\nimport { Region } from 'fabric-transport';\n` +
        `console.log(Region === createRequire(import.meta.url)('fabric-transport').Region);`,
    );
    assert.equal(run('node', ['dual.mjs'], consumer).trim(), 'true');
  });

  it('resolves its types for ESM and CommonJS TypeScript consumers', () => {
    const usage = `
      const listener: Listener = await listen({ host: '127.0.0.1', port: 0, transport: 'tcp' });
      const conn: Connection = await connect({ host: '127.0.0.1', port: listener.port });
      const region: Region = register(new Float32Array(4), { access: 'read' });
      const kind: TransportKind = conn.transport;
      const info: TransportInfo[] = transports();
      const error: FabricErrorCode = new FabricError('EINVAL', 'x').code;
      void [region.descriptor, kind, info, error];
    `;
    const names =
      'listen, connect, register, transports, FabricError, type Listener, type Connection, type Region, type TransportKind, type TransportInfo, type FabricErrorCode';
    writeFileSync(join(consumer, 'types.mts'), `import { ${names} } from 'fabric-transport';\n${usage}\n`);
    writeFileSync(
      join(consumer, 'types.cts'),
      `import { ${names} } from 'fabric-transport';\nasync function main() {${usage}}\nvoid main;\n`,
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          target: 'es2022',
          strict: true,
          noEmit: true,
          types: [],
          skipLibCheck: false,
        },
        files: ['types.mts', 'types.cts'],
      }),
    );
    run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], consumer);
  });
});
