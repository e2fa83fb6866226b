// A runnable loopback example: a server and a client in two processes exchange messages and move a tensor
// through registered memory with one-sided write and read, then print what it cost.
//   npm run example                      (server and client on 127.0.0.1, FABRIC_TRANSPORT honoured)
import { fork } from 'node:child_process';
import { connect, listen, register, stats } from '../src/index.js';

const TENSOR_BYTES = 16 << 20;
const ROUND_TRIPS = 10000;

async function server(): Promise<void> {
  const listener = await listen({ host: process.env.FABRIC_TEST_HOST ?? '127.0.0.1', port: 0 });
  process.send?.({ port: listener.port });
  const connection = await listener.accept();
  // The server's "device memory": the client writes a tensor here, then reads the result back.
  const deviceMemory = register(new Float32Array(TENSOR_BYTES / 4));
  await connection.send(deviceMemory.descriptor);
  for await (const message of connection) {
    const command = Buffer.from(message).toString();
    if (command === 'double') {
      const values = new Float32Array(deviceMemory.bytes.buffer);
      for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * 2;
      await connection.send(Buffer.from('done'));
    } else {
      await connection.send(message); // echo
    }
  }
  await listener.close();
}

async function client(port: number): Promise<void> {
  const connection = await connect({ host: process.env.FABRIC_TEST_HOST ?? '127.0.0.1', port });
  console.log(`connected over ${connection.transport}`);
  const deviceDescriptor = await connection.receive();

  const ping = new Uint8Array(8);
  for (let i = 0; i < 1000; i++) {
    await connection.send(ping);
    await connection.receive();
  }
  let started = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    await connection.send(ping);
    await connection.receive();
  }
  const roundTripMicros = ((performance.now() - started) * 1000) / ROUND_TRIPS;
  console.log(`8-byte message round trip: ${roundTripMicros.toFixed(1)} µs (mean of ${ROUND_TRIPS})`);

  const host = register(new Float32Array(TENSOR_BYTES / 4).map((_, i) => i));
  let copied = stats().copiedBytes;
  started = performance.now();
  await connection.write(host, deviceDescriptor);
  const writeMs = performance.now() - started;
  copied = stats().copiedBytes - copied;
  await connection.send(Buffer.from('double'));
  await connection.receive();
  const beforeRead = stats().copiedBytes;
  started = performance.now();
  await connection.read(host, deviceDescriptor);
  const readMs = performance.now() - started;
  copied += stats().copiedBytes - beforeRead;
  const values = new Float32Array(host.bytes.buffer);
  const correct = values.every((value, i) => value === i * 2);
  console.log(
    `16 MiB tensor: write ${(TENSOR_BYTES / 1e6 / writeMs).toFixed(2)} GB/s, read ${(TENSOR_BYTES / 1e6 / readMs).toFixed(2)} GB/s, result ${correct ? 'correct' : 'WRONG'}`,
  );
  console.log(`tensor bytes copied in user space: ${copied}`);
  await connection.close();
  if (!correct) process.exitCode = 1;
}

if (process.argv[2] === 'server') {
  server().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  const child = fork(__filename, ['server'], { stdio: 'inherit' });
  child.once('message', (message: { port: number }) => {
    client(message.port)
      .catch((error) => {
        console.error(error);
        process.exitCode = 1;
      })
      .finally(() => child.kill());
  });
}
