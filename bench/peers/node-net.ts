// The peers written in the suite: raw node:net, with no framing, as fast as Node's own sockets go.
import { once } from 'node:events';
import * as net from 'node:net';
import { type Budget, type RoundResult, repeat } from '../budget.js';
import { gigabytesPerSecond } from '../patterns/bandwidth.js';
import { latencyOf } from '../patterns/latency.js';

async function connected(host: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host, port, noDelay: true });
  // Failures reach the measurement through write callbacks and its own listeners, never as a crash.
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** Round trips of `size` bytes through an echo server: p50 and p99 in µs. */
export async function rawLatency(
  host: string,
  port: number,
  size: number,
  budget: Budget,
): Promise<RoundResult> {
  const socket = await connected(host, port);
  try {
    const ping = Buffer.alloc(size);
    let awaited = 0;
    let wake: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    socket.on('data', (chunk: Buffer) => {
      awaited -= chunk.length;
      if (awaited <= 0) wake();
    });
    socket.on('error', (error) => fail(error));
    socket.on('close', () => fail(new Error('the node:net echo server closed the connection')));
    const { samplesMs } = await repeat(
      budget,
      1,
      () =>
        new Promise<void>((resolve, reject) => {
          wake = resolve;
          fail = reject;
          awaited += size;
          socket.write(ping);
        }),
    );
    return latencyOf(samplesMs);
  } finally {
    socket.destroy();
  }
}

/** GB/s of `size`-byte writes to a sink, `inFlight` unfinished writes at a time. */
export async function rawStream(
  host: string,
  port: number,
  size: number,
  budget: Budget,
  inFlight: number,
): Promise<RoundResult> {
  const socket = await connected(host, port);
  try {
    const chunk = Buffer.alloc(size, 7);
    const write = () =>
      new Promise<void>((resolve, reject) =>
        socket.write(chunk, (error) => (error ? reject(error) : resolve())),
      );
    const { operations, elapsedMs } = await repeat(budget, inFlight, write);
    return { value: gigabytesPerSecond(operations * size, elapsedMs), operations };
  } finally {
    socket.destroy();
  }
}
