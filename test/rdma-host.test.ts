// What the verbs layer sees on a host with an RDMA device: the Soft-RoCE guest (npm run test:softroce), or
// any host with a RoCE or InfiniBand NIC, with FABRIC_TEST_DEVICE naming the device (and FABRIC_TEST_HOST its
// address). Skipped elsewhere.
import * as assert from 'node:assert/strict';
import { transports } from '../src/index.js';

const DEVICE = process.env.FABRIC_TEST_DEVICE;
const HOST = process.env.FABRIC_TEST_HOST;

describe('on a host with an RDMA device (FABRIC_TEST_DEVICE)', () => {
  before(function () {
    if (!DEVICE) this.skip();
  });

  it('loads rdma-core and lists the device, its active port and the GID of its address', () => {
    const infos = transports();
    const linked = infos.filter((info) => info.devices?.some((device) => device.name === DEVICE));
    assert.equal(
      linked.length,
      1,
      `${DEVICE} appears under exactly one RDMA transport: ${JSON.stringify(infos)}`,
    );
    const info = linked[0] as (typeof linked)[0];
    const device = info.devices?.find((candidate) => candidate.name === DEVICE);
    const port = device?.ports.find((candidate) => candidate.state === 'ACTIVE');
    assert.ok(port, `${DEVICE} has an ACTIVE port`);
    assert.equal(info.kind, port.linkLayer === 'Ethernet' ? 'roce' : 'ib');
    assert.ok((port.activeMtu ?? 0) >= 256, 'the MTU comes from libibverbs');
    if (HOST && info.kind === 'roce') {
      const gid = port.gids.find((candidate) => candidate.ipv4 === HOST);
      assert.ok(gid, `a GID for ${HOST}: ${JSON.stringify(port.gids)}`);
      assert.equal(gid.type, 'RoCE v2');
      assert.equal(String(gid.index), process.env.FABRIC_TEST_GID_INDEX ?? String(gid.index));
    }
  });

  it('honours FABRIC_DEVICE exclusions', () => {
    const rdma = transports({ device: `^${DEVICE}` }).filter((info) => info.kind !== 'tcp');
    assert.ok(rdma.every((info) => !info.devices?.some((device) => device.name === DEVICE)));
  });
});
