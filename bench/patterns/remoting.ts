import type { Device } from '../../examples/remote-tensor/device.js';
import { LocalDevice } from '../../examples/remote-tensor/local-device.js';
import { fixedRandom, Mlp, SHAPE } from '../../examples/remote-tensor/mlp.js';
import { RemoteDevice, type Transfer } from '../../examples/remote-tensor/remote-device.js';
import { type Budget, type RoundResult, repeat } from '../budget.js';
import { type FabricTarget, withBench } from '../fabric-target.js';

/** Where the example's device runs: behind a bench server (zero-copy or the naive inline calls), or here. */
export type DeviceSite = { target: FabricTarget; transfer: Transfer } | 'local';

function onDevice<T>(site: DeviceSite, use: (device: Device) => Promise<T>): Promise<T> {
  if (site === 'local') return use(new LocalDevice());
  return withBench(site.target, { mode: 'device' }, (connection) =>
    use(RemoteDevice.over(connection, site.transfer)),
  );
}

/**
 * µs per forwarded call through the example's device API: with `size` 0 a no-op (synchronize, one round
 * trip), else copyIn then copyOut of a `size`-byte tensor. The tensor is checked after the last call.
 */
export function forwardedCall(site: DeviceSite, size: number, budget: Budget): Promise<RoundResult> {
  return onDevice(site, async (device) => {
    const tensor = fixedRandom(size / 4, 7);
    const back = new Float32Array(size / 4);
    const pointer = size > 0 ? await device.alloc(size) : 0;
    const call =
      size === 0
        ? () => device.synchronize()
        : async () => {
            await device.copyIn(pointer, tensor);
            await device.copyOut(back, pointer);
          };
    const { operations, elapsedMs } = await repeat(budget, 1, call);
    if (Buffer.compare(new Uint8Array(tensor.buffer), new Uint8Array(back.buffer)) !== 0) {
      throw new Error(`forwarded copies of ${size} bytes: the tensor came back different`);
    }
    return { value: (elapsedMs * 1000) / operations, operations };
  });
}

/** ms per batch of `size` bytes of input through the example's MLP, its weights loaded on the device first. */
export function mlpBatch(site: DeviceSite, size: number, budget: Budget): Promise<RoundResult> {
  const rows = Math.max(1, Math.floor(size / (SHAPE.inputs * 4)));
  return onDevice(site, async (device) => {
    const model = await Mlp.load(device);
    const input = fixedRandom(rows * SHAPE.inputs, 5);
    const output = new Float32Array(rows * SHAPE.outputs);
    const { operations, elapsedMs } = await repeat(budget, 1, () => model.infer(input, output, rows));
    await model.unload();
    return { value: elapsedMs / operations, operations };
  });
}
