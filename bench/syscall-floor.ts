// The lowest 8-byte TCP round trip a Node.js process reaches on this host: two processes that do nothing but
// the syscalls our 'spin' mode makes (the addon's gathered write, then a busy-polled read), with no framing,
// no promises per step and no event loop in between. What is left between our 'spin' figure and this one
// is the library's own work; what is left between this one and ucx_perftest's is Node's.
//   node dist/bench/syscall-floor.js [ROUND_TRIPS]
import { fork } from 'node:child_process';
import * as net from 'node:net';
import { constants } from 'node:os';
import { tcpNative } from '../src/transports/tcp/native.js';
import { median } from './statistics.js';

const SIZE = 8;
const EAGAIN = -constants.errno.EAGAIN;
const addon = tcpNative();
if (addon === undefined) throw new Error('the native addon is not built: run npm run build:native');
const { socketRead, socketWrite } = addon;

function descriptor(socket: net.Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

/** Reads exactly `bytes.length` bytes, spinning. */
function readFully(fd: number, bytes: Uint8Array): void {
  for (let got = 0; got < bytes.length; ) {
    const count = socketRead(fd, bytes.subarray(got), 1_000_000);
    if (count === 0 || (count < 0 && count !== EAGAIN)) throw new Error(`read failed (${count})`);
    if (count > 0) got += count;
  }
}

function serve(): void {
  const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => {
    const fd = descriptor(socket);
    const message = new Uint8Array(SIZE);
    try {
      for (;;) {
        readFully(fd, message);
        socketWrite(fd, message);
      }
    } catch {
      process.exit(0);
    }
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as net.AddressInfo).port));
}

async function measure(roundTrips: number): Promise<void> {
  const child = fork(__filename, ['serve']);
  const port = await new Promise<number>((resolve) => child.once('message', (p) => resolve(p as number)));
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.pause();
  const fd = descriptor(socket);
  const ping = new Uint8Array(SIZE);
  const pong = new Uint8Array(SIZE);
  const samples: number[] = [];
  for (let i = 0; i < roundTrips + roundTrips / 10; i++) {
    const start = process.hrtime.bigint();
    socketWrite(fd, ping);
    readFully(fd, pong);
    if (i >= roundTrips / 10) samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  socket.destroy();
  child.kill();
  console.log(`${SIZE} B round trip, ${roundTrips} timed: p50 ${median(samples).toFixed(1)} µs`);
}

if (process.argv[2] === 'serve') serve();
else void measure(Number(process.argv[2] ?? 20000));
