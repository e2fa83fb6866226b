import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions } from '../../../src/core/options.js';
import { filterDevices, rdmaDevices } from '../../../src/transports/verbs/devices.js';

/** A fake /sys/class/infiniband with a Soft-RoCE device and a two-port InfiniBand HCA. */
function fakeSysfs(): string {
  const root = mkdtempSync(join(tmpdir(), 'fake-sysfs-'));
  const port = (
    device: string,
    number: number,
    state: string,
    linkLayer: string,
    gids: [number, string, string, string][],
  ) => {
    const dir = join(root, device, 'ports', String(number));
    for (const sub of ['gids', 'gid_attrs/types', 'gid_attrs/ndevs'])
      mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, 'state'), `${state}\n`);
    writeFileSync(join(dir, 'link_layer'), `${linkLayer}\n`);
    for (const [index, gid, type, netdev] of gids) {
      writeFileSync(join(dir, 'gids', String(index)), `${gid}\n`);
      writeFileSync(join(dir, 'gid_attrs', 'types', String(index)), `${type}\n`);
      writeFileSync(join(dir, 'gid_attrs', 'ndevs', String(index)), `${netdev}\n`);
    }
  };
  port('rxe0', 1, '4: ACTIVE', 'Ethernet', [
    [0, 'fe80:0000:0000:0000:b0c3:22ff:fe01:0203', 'RoCE v2', 'veth0'],
    [1, '0000:0000:0000:0000:0000:ffff:0a00:0001', 'RoCE v2', 'veth0'],
    [2, '0000:0000:0000:0000:0000:0000:0000:0000', '', ''],
  ]);
  port('mlx5_0', 1, '4: ACTIVE', 'InfiniBand', [
    [0, 'fe80:0000:0000:0000:0002:c903:0001:0001', 'IB/RoCE v1', ''],
  ]);
  port('mlx5_0', 2, '1: DOWN', 'InfiniBand', []);
  return root;
}

describe('RDMA devices', () => {
  let root: string;
  before(() => {
    root = fakeSysfs();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('are read from sysfs with their ports, states, link layers and GIDs', () => {
    const devices = rdmaDevices(undefined, root).sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(devices[1], {
      name: 'rxe0',
      ports: [
        {
          port: 1,
          state: 'ACTIVE',
          linkLayer: 'Ethernet',
          gids: [
            { index: 0, gid: 'fe80:0000:0000:0000:b0c3:22ff:fe01:0203', type: 'RoCE v2', netdev: 'veth0' },
            {
              index: 1,
              gid: '0000:0000:0000:0000:0000:ffff:0a00:0001',
              type: 'RoCE v2',
              netdev: 'veth0',
              ipv4: '10.0.0.1',
            },
          ],
        },
      ],
    });
    assert.deepEqual(
      devices[0]?.ports.map((p) => [p.port, p.state, p.linkLayer, p.gids.length]),
      [
        [1, 'ACTIVE', 'InfiniBand', 1],
        [2, 'DOWN', 'InfiniBand', 0],
      ],
    );
  });

  it('are picked by FABRIC_DEVICE-style filters: lists, dev:port and ^ exclusions', () => {
    const all = rdmaDevices(undefined, root);
    const pick = (text: string) =>
      filterDevices(all, resolveOptions({ device: text }).devices)
        .flatMap((d) => d.ports.map((p) => `${d.name}:${p.port}`))
        .sort();
    assert.deepEqual(pick(''), ['mlx5_0:1', 'mlx5_0:2', 'rxe0:1']);
    assert.deepEqual(pick('rxe0'), ['rxe0:1']);
    assert.deepEqual(pick('mlx5_0:2,rxe0'), ['mlx5_0:2', 'rxe0:1']);
    assert.deepEqual(pick('^rxe0'), ['mlx5_0:1', 'mlx5_0:2']);
    assert.deepEqual(pick('mlx5_0,^mlx5_0:1'), ['mlx5_0:2']);
    assert.deepEqual(pick('nosuch'), []);
  });
});
