// The application: classifies a batch with the MLP on whatever device the environment names, and prints
// what it computed. Its output is the same, bit for bit, on a local or a remote device.
//
//   REMOTE_TENSOR_DEVICE=local|HOST:PORT node dist/examples/remote-tensor/app.js [ROWS]
import { createHash } from 'node:crypto';
import { fixedRandom, Mlp, SHAPE } from './mlp.js';
import { deviceFromEnvironment } from './select-device.js';

async function main(): Promise<void> {
  const rows = Number(process.argv[2] ?? 64);
  const { device, where } = await deviceFromEnvironment();
  const model = await Mlp.load(device);
  const input = fixedRandom(rows * SHAPE.inputs, 5);
  const output = new Float32Array(rows * SHAPE.outputs);
  await model.infer(input, output, rows);
  await model.unload();
  await device.close();
  const classes = Array.from({ length: Math.min(rows, 8) }, (_, r) => {
    const row = output.subarray(r * SHAPE.outputs, (r + 1) * SHAPE.outputs);
    return row.indexOf(Math.max(...row));
  });
  const sha256 = createHash('sha256').update(new Uint8Array(output.buffer)).digest('hex');
  console.log(JSON.stringify({ device: where, rows, classes, sha256 }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
