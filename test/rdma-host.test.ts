// What the verbs layer sees on a host with an RDMA device: the Soft-RoCE guest (npm run test:softroce), or
// any host with a RoCE or InfiniBand NIC, with FABRIC_TEST_DEVICE naming the device (and FABRIC_TEST_HOST its
// address). Skipped elsewhere.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

  it('connects two native endpoints over RDMA-CM and moves data with SEND, RDMA WRITE and READ', async function () {
    this.timeout(120000);
    if (!HOST) this.skip();
    // In a child process, which must exit on its own once every endpoint is destroyed.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(__dirname, 'fixtures', 'verbs-smoke.js'), HOST as string],
      {
        timeout: 100000,
      },
    );
    const result = JSON.parse(stdout);
    const [IBV_WC_SUCCESS, IBV_WC_REM_ACCESS_ERR] = [0, 10];
    const [IBV_WC_SEND, IBV_WC_RDMA_WRITE, IBV_WC_RDMA_READ, IBV_WC_RECV] = [0, 1, 2, 128];
    assert.equal(result.requestData, 'hello', 'private data of the connect request');
    assert.equal(result.acceptData, 'welcome', 'private data of the accept');
    assert.deepEqual(result.send.slice(0, 3), [1, IBV_WC_SUCCESS, IBV_WC_SEND]);
    assert.deepEqual(result.recv, [7, IBV_WC_SUCCESS, IBV_WC_RECV, 14]);
    assert.equal(result.received, 'ping over rdma');
    assert.deepEqual(result.write.slice(0, 3), [2, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE]);
    assert.equal(result.written, true, 'the RDMA WRITE landed exactly where it was aimed');
    assert.deepEqual(result.read.slice(0, 3), [3, IBV_WC_SUCCESS, IBV_WC_RDMA_READ]);
    assert.equal(result.readBack, true);
    assert.deepEqual(
      result.badKey.slice(0, 2),
      [4, IBV_WC_REM_ACCESS_ERR],
      'a wrong rkey is refused by the responder',
    );
  });
});
