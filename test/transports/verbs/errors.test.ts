// How the verbs layer's failures reach the user: codes and advice, checked without a device.
import * as assert from 'node:assert/strict';
import { FabricError } from '../../../src/api/errors.js';
import { completionError, connectError, rejection } from '../../../src/transports/verbs/errors.js';
import type { NativeEndpoint } from '../../../src/transports/verbs/native.js';
import { registerMemory } from '../../../src/transports/verbs/registrations.js';

function failingEndpoint(errno: number, message: string): NativeEndpoint {
  return {
    register: () => {
      throw Object.assign(new Error(message), { errno });
    },
  } as unknown as NativeEndpoint;
}

describe('verbs errors', () => {
  it('carry the reason a listener refused a connection request through the reject, code and text', () => {
    const reason = new FabricError(
      'EBUSY',
      `the listener holds its maximum of 2 connections ${'.'.repeat(200)}`,
    );
    const data = rejection(reason);
    assert.ok(data.length <= 148, 'fits the private data of an InfiniBand CM reject');
    const error = connectError('rejected', [28, data], '10.0.0.1:7000');
    assert.equal(error.code, 'EBUSY');
    assert.match(error.message, /^10\.0\.0\.1:7000 refused: the listener holds its maximum of 2 connections/);
    assert.equal(connectError('rejected', [28, new Uint8Array(0)], 'x').code, 'ECONNREFUSED');
  });

  it('turn a registration refused for the locked-memory limit into ENOMEM that names ulimit -l', () => {
    const native = 'ibv_reg_mr could not pin the memory: raise it with `ulimit -l unlimited`';
    for (const errno of [12, 1]) {
      const error = (() => {
        try {
          registerMemory(failingEndpoint(errno, native), new Uint8Array(8), 1);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      assert.ok(error instanceof FabricError);
      assert.equal(error.code, 'ENOMEM');
      assert.match(error.message, /ulimit -l/);
    }
    assert.throws(() => registerMemory(failingEndpoint(14, 'bad address'), new Uint8Array(8), 1), {
      code: 'EINVAL',
    });
  });

  it('map work completions: retry exceeded is ETIMEDOUT with GID advice, remote access EACCES', () => {
    const retry = completionError(12, '10.0.0.2:7000');
    assert.equal(retry.code, 'ETIMEDOUT');
    assert.match(retry.message, /GID/);
    assert.match(retry.message, /fabric-transport info/);
    assert.equal(completionError(10, 'peer').code, 'EACCES');
    assert.equal(completionError(13, 'peer').code, 'EPROTO');
    assert.equal(completionError(99, 'peer').code, 'ECONNRESET');
  });

  it('map RDMA-CM failures: nobody listening is ECONNREFUSED, no route ENODEV, unreachable ETIMEDOUT', () => {
    assert.equal(connectError('rejected', [8], 'h:1').code, 'ECONNREFUSED');
    assert.match(connectError('rejected', [28], 'h:1').message, /nobody is listening/);
    assert.equal(connectError('error', ['RDMA_CM_EVENT_ADDR_ERROR', -19], 'h:1').code, 'ENODEV');
    assert.equal(connectError('error', ['RDMA_CM_EVENT_ROUTE_ERROR', -110], 'h:1').code, 'ECONNREFUSED');
    assert.equal(connectError('error', ['RDMA_CM_EVENT_UNREACHABLE', -110], 'h:1').code, 'ETIMEDOUT');
    assert.equal(connectError('error', ['RDMA_CM_EVENT_CONNECT_ERROR', -5], 'h:1').code, 'ECONNRESET');
  });
});
