// Two hosts as network namespaces joined by a veth pair, the server in one and the client in the other, each
// its own process (test/fixtures/fault-peer.ts), and faults between them: delay, loss and reordering with
// tc netem where the kernel has it (the Soft-RoCE guest's Debian kernel does), a link cut mid-transfer, and
// a server killed with SIGKILL mid-write. Needs root and `ip netns`; skipped, with the reason, without them.
// Only addresses inside those namespaces are used.
import * as assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const PEER = join(__dirname, 'fixtures', 'fault-peer.js');
const SERVER_NS = `fabric-a-${process.pid}`;
const CLIENT_NS = `fabric-b-${process.pid}`;
const SERVER_ADDRESS = '10.77.0.1';
const CLIENT_ADDRESS = '10.77.0.2';
const KEEPALIVE_MS = 2000;
/** Bytes each checksummed transfer moves; smaller where JS runs under emulation (FAULT_BYTES). */
const BYTES = Number(process.env.FAULT_BYTES ?? 16 << 20);

function sh(...args: string[]): string {
  return execFileSync(args[0] as string, args.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function inNamespace(namespace: string, ...args: string[]): string {
  return sh('ip', 'netns', 'exec', namespace, ...args);
}

/** Why this host cannot run the tests, or undefined when it can. */
function unsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  try {
    sh('ip', 'netns', 'add', SERVER_NS);
    sh('ip', 'netns', 'add', CLIENT_NS);
  } catch (error) {
    return `cannot create network namespaces: ${(error as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/** Whether tc netem works here: the host's kernel may lack sch_netem. */
function netemAvailable(): boolean {
  try {
    sh('modprobe', 'sch_netem');
  } catch {
    // built in, or not there at all: trying it says which
  }
  try {
    inNamespace(CLIENT_NS, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms');
    inNamespace(CLIENT_NS, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root');
    return true;
  } catch {
    return false;
  }
}

/** A fault-peer process in `namespace`; `lines` yields what it prints, parsed. */
function peer(namespace: string, ...args: string[]) {
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, PEER, ...args], {
    env: {
      ...process.env,
      FABRIC_TRANSPORT: 'tcp',
      FABRIC_KEEPALIVE_MS: String(KEEPALIVE_MS),
      FABRIC_TOKEN: `network-faults-${process.pid}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  running.add(child);
  void exited.then(() => running.delete(child));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    if (line.done) throw new Error(`${args[0]} exited without a result`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  return { child, next, exited };
}

/** Every fault-peer process still running, so that a failing test leaves none behind. */
const running = new Set<ChildProcess>();

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

describe('network faults between two hosts (network namespaces joined by veth)', function () {
  this.timeout(180_000);
  let server: ReturnType<typeof peer> | undefined;
  let port = 0;
  let netem = false;

  before(function () {
    const reason = unsupported();
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    sh(
      'ip',
      'link',
      'add',
      'fabric-va',
      'netns',
      SERVER_NS,
      'type',
      'veth',
      'peer',
      'fabric-vb',
      'netns',
      CLIENT_NS,
    );
    inNamespace(SERVER_NS, 'ip', 'addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', 'fabric-va');
    inNamespace(CLIENT_NS, 'ip', 'addr', 'add', `${CLIENT_ADDRESS}/24`, 'dev', 'fabric-vb');
    for (const [namespace, device] of [
      [SERVER_NS, 'fabric-va'],
      [CLIENT_NS, 'fabric-vb'],
    ] as const) {
      inNamespace(namespace, 'ip', 'link', 'set', device, 'up');
      inNamespace(namespace, 'ip', 'link', 'set', 'lo', 'up');
    }
    netem = netemAvailable();
    if (!netem)
      console.log('      tc netem is not available in this kernel: delay, loss and reordering are skipped');
  });

  after(() => {
    for (const namespace of [SERVER_NS, CLIENT_NS]) {
      try {
        sh('ip', 'netns', 'del', namespace);
      } catch {
        // not created
      }
    }
  });

  beforeEach(async () => {
    // Fixed neighbour entries: lost ARP packets would fail connect() with EHOSTUNREACH before TCP is tested.
    const ends = [
      [SERVER_NS, 'fabric-va', SERVER_ADDRESS],
      [CLIENT_NS, 'fabric-vb', CLIENT_ADDRESS],
    ] as const;
    for (const [namespace, device] of ends) {
      const other = ends.find((end) => end[0] !== namespace) as (typeof ends)[number];
      const [{ address: mac }] = JSON.parse(inNamespace(other[0], 'ip', '-j', 'link', 'show', other[1]));
      inNamespace(
        namespace,
        'ip',
        'neigh',
        'replace',
        other[2],
        'lladdr',
        mac,
        'dev',
        device,
        'nud',
        'permanent',
      );
    }
    server = peer(SERVER_NS, 'server', SERVER_ADDRESS);
    port = (await server.next()).port as number;
  });

  afterEach(() => {
    for (const child of running) kill(child);
    for (const namespace of [SERVER_NS, CLIENT_NS]) {
      const device = namespace === SERVER_NS ? 'fabric-va' : 'fabric-vb';
      try {
        inNamespace(namespace, 'tc', 'qdisc', 'del', 'dev', device, 'root');
      } catch {
        // no qdisc set
      }
      inNamespace(namespace, 'ip', 'link', 'set', device, 'up');
      inNamespace(namespace, 'ip', 'neigh', 'flush', 'dev', device);
    }
  });

  /** One checksummed transfer from the client namespace; its result. */
  async function transfer(): Promise<Record<string, unknown>> {
    const client = peer(CLIENT_NS, 'client', SERVER_ADDRESS, String(port), String(BYTES));
    const result = await client.next();
    await client.exited;
    return result;
  }

  it('moves data intact across the veth link', async () => {
    const result = await transfer();
    assert.equal(result.ok, true, JSON.stringify(result));
    console.log(`      ${BYTES} bytes verified in ${result.ms} ms`);
  });

  for (const [fault, netemArgs] of [
    ['20 ms of delay with jitter', ['delay', '20ms', '5ms']],
    ['5% loss', ['loss', '5%']],
    [
      'reordering (25% of packets sent early, 10 ms delay for the rest)',
      ['delay', '10ms', 'reorder', '25%', '50%'],
    ],
    ['duplication and corruption', ['duplicate', '2%', 'corrupt', '1%']],
  ] as const) {
    it(`moves data intact, or fails with a clear code, under ${fault}`, async function () {
      if (!netem) this.skip();
      for (const [namespace, device] of [
        [SERVER_NS, 'fabric-va'],
        [CLIENT_NS, 'fabric-vb'],
      ] as const) {
        inNamespace(namespace, 'tc', 'qdisc', 'add', 'dev', device, 'root', 'netem', ...netemArgs);
      }
      const result = await transfer();
      assert.equal(result.ok, true, JSON.stringify(result));
      console.log(`      ${BYTES} bytes verified in ${result.ms} ms`);
    });
  }

  it('fails the writer promptly, with ECONNRESET or ECLOSED, when the server is killed with SIGKILL mid-write', async () => {
    const client = peer(CLIENT_NS, 'client', SERVER_ADDRESS, String(port), String(1 << 20), 'forever');
    assert.deepEqual(await client.next(), { flowing: true });
    kill((server as ReturnType<typeof peer>).child);
    const killed = performance.now();
    const result = await client.next();
    await client.exited;
    assert.ok(['ECONNRESET', 'ECLOSED'].includes(result.code as string), JSON.stringify(result));
    assert.ok(performance.now() - killed < 5000);
    console.log(`      ${result.message}`);
  });

  it(`detects a link cut mid-transfer within the keepalive (${KEEPALIVE_MS} ms) and fails with ETIMEDOUT`, async () => {
    const client = peer(CLIENT_NS, 'client', SERVER_ADDRESS, String(port), String(1 << 20), 'forever');
    assert.deepEqual(await client.next(), { flowing: true });
    inNamespace(SERVER_NS, 'ip', 'link', 'set', 'fabric-va', 'down');
    const cut = performance.now();
    const result = await client.next();
    const detected = performance.now() - cut;
    await client.exited;
    assert.equal(result.code, 'ETIMEDOUT', JSON.stringify(result));
    assert.ok(detected < KEEPALIVE_MS + 4000, `detected after ${detected} ms`);
    console.log(`      link cut detected after ${Math.round(detected)} ms (${result.message})`);
  });
});
