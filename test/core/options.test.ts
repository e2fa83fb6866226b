import * as assert from 'node:assert/strict';
import { FabricError } from '../../src/api/errors.js';
import { resolveOptions } from '../../src/core/options.js';

const VARIABLES = [
  'FABRIC_TRANSPORT',
  'FABRIC_DEVICE',
  'FABRIC_GID_INDEX',
  'FABRIC_IB_PORT',
  'FABRIC_POLL',
  'FABRIC_SPIN_US',
  'FABRIC_MAX_MESSAGE',
  'FABRIC_TOKEN',
  'FABRIC_MAX_IN_FLIGHT',
  'FABRIC_MAX_BUFFERED',
  'FABRIC_KEEPALIVE_MS',
  'FABRIC_MAX_CONNECTIONS',
  'FABRIC_SHM_DIR',
  'FABRIC_SHM_COPY',
  'FABRIC_SHM_RING',
];

function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of VARIABLES) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const name of VARIABLES) {
      const value = saved[name];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

function invalid(fn: () => unknown, mention: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FabricError);
    assert.equal(error.code, 'EINVAL');
    assert.match(error.message, mention);
    return true;
  });
}

describe('options and environment variables', () => {
  it('have documented defaults', () => {
    const resolved = withEnv({}, () => resolveOptions({}));
    assert.deepEqual(resolved, {
      transport: 'auto',
      devices: [],
      gidIndex: undefined,
      ibPort: undefined,
      pollMode: 'event',
      spinMicros: 50,
      shmDir: undefined,
      shmCopy: 'auto',
      shmRingBytes: 1 << 20,
      maxMessageSize: 16 << 20,
      token: undefined,
      handshakeTimeout: 10000,
      maxInFlight: 1024,
      receiveWindow: (16 << 20) + 32 + (1 << 20),
      keepalive: 60000,
      maxConnections: 1024,
    });
  });

  it('take their defaults from the variables, and explicit options beat them', () => {
    const env = {
      FABRIC_TRANSPORT: 'tcp',
      FABRIC_DEVICE: 'mlx5_0:1, ^mlx5_2',
      FABRIC_GID_INDEX: '3',
      FABRIC_IB_PORT: '2',
      FABRIC_POLL: 'spin',
      FABRIC_SPIN_US: '25',
      FABRIC_MAX_MESSAGE: '64M',
      FABRIC_TOKEN: 's3cret',
      FABRIC_MAX_IN_FLIGHT: '64',
      FABRIC_MAX_BUFFERED: '128M',
      FABRIC_KEEPALIVE_MS: '5000',
      FABRIC_MAX_CONNECTIONS: '10',
      FABRIC_SHM_DIR: '/run/fabric',
      FABRIC_SHM_COPY: 'ring',
      FABRIC_SHM_RING: '256K',
    };
    const fromEnv = withEnv(env, () => resolveOptions({}));
    assert.deepEqual(fromEnv, {
      transport: 'tcp',
      devices: [
        { name: 'mlx5_0', port: 1, exclude: false },
        { name: 'mlx5_2', exclude: true },
      ],
      gidIndex: 3,
      ibPort: 2,
      pollMode: 'spin',
      spinMicros: 25,
      maxMessageSize: 64 << 20,
      token: 's3cret',
      handshakeTimeout: 10000,
      maxInFlight: 64,
      receiveWindow: 128 << 20,
      keepalive: 5000,
      maxConnections: 10,
      shmDir: '/run/fabric',
      shmCopy: 'ring',
      shmRingBytes: 256 << 10,
    });
    const explicit = withEnv(env, () =>
      resolveOptions({
        transport: 'auto',
        device: 'rxe0',
        gidIndex: 1,
        ibPort: 1,
        pollMode: 'event',
        spinMicros: 0,
        maxMessageSize: 1000,
        token: 'other',
        maxInFlight: 2,
        maxBufferedBytes: 2000,
        keepalive: 0,
        maxConnections: 1,
        shmDir: '/tmp/x',
        shmCopy: 'auto',
        shmRingBytes: 64 << 10,
      }),
    );
    assert.deepEqual(explicit, {
      transport: 'auto',
      devices: [{ name: 'rxe0', exclude: false }],
      gidIndex: 1,
      ibPort: 1,
      pollMode: 'event',
      spinMicros: 0,
      maxMessageSize: 1000,
      token: 'other',
      handshakeTimeout: 10000,
      maxInFlight: 2,
      receiveWindow: 2000,
      keepalive: 0,
      maxConnections: 1,
      shmDir: '/tmp/x',
      shmCopy: 'auto',
      shmRingBytes: 64 << 10,
    });
  });

  it('accept sizes with K, M, G suffixes', () => {
    for (const [text, bytes] of [
      ['4096', 4096],
      ['4K', 4096],
      ['4KiB', 4096],
      ['2m', 2 << 20],
      ['1G', 1 << 30],
    ] as const) {
      assert.equal(withEnv({ FABRIC_MAX_MESSAGE: text }, () => resolveOptions({})).maxMessageSize, bytes);
    }
  });

  for (const [name, value, allowed] of [
    ['FABRIC_TRANSPORT', 'rdma', /auto, tcp, roce, ib/],
    ['FABRIC_DEVICE', 'mlx5_0:0', /device names/],
    ['FABRIC_DEVICE', 'a b', /device names/],
    ['FABRIC_GID_INDEX', '-1', /integer from 0/],
    ['FABRIC_GID_INDEX', '1.5', /integer from 0/],
    ['FABRIC_IB_PORT', '0', /integer from 1 to 255/],
    ['FABRIC_POLL', 'busy', /event, spin, hybrid/],
    ['FABRIC_SPIN_US', 'ten', /integer from 0/],
    ['FABRIC_MAX_MESSAGE', '2G', /size in bytes/],
    ['FABRIC_MAX_MESSAGE', '0', /size in bytes/],
    ['FABRIC_TOKEN', '', /non-empty/],
    ['FABRIC_MAX_IN_FLIGHT', '0', /integer from 1/],
    ['FABRIC_MAX_BUFFERED', 'lots', /size in bytes/],
    ['FABRIC_KEEPALIVE_MS', '500', /0 \(off\) or milliseconds from 1000/],
    ['FABRIC_MAX_CONNECTIONS', '-3', /integer from 1/],
    ['FABRIC_SHM_DIR', 'relative/dir', /absolute directory/],
    ['FABRIC_SHM_COPY', 'teleport', /auto, ring/],
    ['FABRIC_SHM_RING', '96K', /power of two/],
    ['FABRIC_SHM_RING', '4K', /size in bytes from 65536/],
  ] as const) {
    it(`reject ${name}=${JSON.stringify(value)} with EINVAL naming the variable and what is allowed`, () => {
      invalid(
        () => withEnv({ [name]: value }, () => resolveOptions({})),
        new RegExp(`${name}=.*(${allowed.source})`),
      );
    });
  }

  it('reject invalid explicit options with EINVAL naming the option', () => {
    invalid(() => resolveOptions({ pollMode: 'fast' as never }), /option pollMode="fast"/);
    invalid(() => resolveOptions({ maxMessageSize: -1 }), /option maxMessageSize/);
    invalid(() => resolveOptions({ gidIndex: '2' as never }), /option gidIndex/);
    invalid(() => resolveOptions({ token: 42 as never }), /option token/);
    invalid(() => resolveOptions({ maxMessageSize: 4096, maxBufferedBytes: 4096 }), /must hold one message/);
    invalid(() => resolveOptions(null as never), /options must be an object/);
  });
});
