// One command for the whole example: the application on a local device, then the same application in its
// own process against a device server in another, and a check that both computed the same bytes.
//
//   node dist/examples/remote-tensor/demo.js      (REMOTE_TENSOR_HOST: the server's address, default 127.0.0.1;
//                                                  FABRIC_TRANSPORT picks the transport)
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

async function runApp(device: string): Promise<{ sha256: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, 'app.js')], {
    env: { ...process.env, REMOTE_TENSOR_DEVICE: device },
  });
  console.log(stdout.trim());
  return JSON.parse(stdout);
}

async function main(): Promise<void> {
  const local = await runApp('local');
  const host = process.env.REMOTE_TENSOR_HOST ?? '127.0.0.1';
  const server = spawn(process.execPath, [join(__dirname, 'server.js'), host, '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await Promise.race([
      once(createInterface({ input: server.stdout }), 'line'),
      once(server, 'exit').then(([code]) => {
        throw new Error(`the device server exited (${code}) before it listened`);
      }),
    ])) as [string];
    const remote = await runApp(JSON.parse(line).listening);
    if (remote.sha256 !== local.sha256) throw new Error('the remote device computed something else');
    console.log('identical output on the local and the remote device');
  } finally {
    server.kill();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
