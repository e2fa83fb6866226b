// The "application": a two-layer MLP inference over a batch, written against the Device API only. It does
// not know whether its device is in this process or across the network.
import type { Device } from './device.js';

export interface MlpShape {
  inputs: number;
  hidden: number;
  outputs: number;
}

export const SHAPE: MlpShape = { inputs: 256, hidden: 256, outputs: 16 };

/** Deterministic pseudo-random floats in [-scale, scale) (a 32-bit LCG), so every run has the same weights. */
export function fixedRandom(count: number, seed: number, scale = 1): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = (state / 2 ** 32 - 0.5) * 2 * scale;
  }
  return values;
}

/** The model's weights on a device, loaded once; `infer` runs one batch. */
export class Mlp {
  private constructor(
    private readonly device: Device,
    private readonly shape: MlpShape,
    private readonly weights: { w1: number; b1: number; w2: number; b2: number },
  ) {}

  static async load(device: Device, shape: MlpShape = SHAPE): Promise<Mlp> {
    const { inputs, hidden, outputs } = shape;
    const tensors = {
      w1: fixedRandom(inputs * hidden, 1, 1 / Math.sqrt(inputs)),
      b1: fixedRandom(hidden, 2, 0.1),
      w2: fixedRandom(hidden * outputs, 3, 1 / Math.sqrt(hidden)),
      b2: fixedRandom(outputs, 4, 0.1),
    };
    const weights = { w1: 0, b1: 0, w2: 0, b2: 0 };
    for (const name of ['w1', 'b1', 'w2', 'b2'] as const) {
      weights[name] = await device.alloc(tensors[name].byteLength);
      await device.copyIn(weights[name], tensors[name]);
    }
    return new Mlp(device, shape, weights);
  }

  /** softmax(relu(x·W1 + b1)·W2 + b2) for a batch of `rows` inputs; writes the probabilities into `output`. */
  async infer(input: Float32Array, output: Float32Array, rows: number): Promise<void> {
    const { device, weights } = this;
    const { inputs, hidden, outputs } = this.shape;
    const [x, h, y] = [
      await device.alloc(rows * inputs * 4),
      await device.alloc(rows * hidden * 4),
      await device.alloc(rows * outputs * 4),
    ];
    await device.copyIn(x, input);
    await device.launch('matmul', [rows, inputs, hidden, x, weights.w1, h]);
    await device.launch('addBias', [rows, hidden, h, weights.b1]);
    await device.launch('relu', [rows * hidden, h]);
    await device.launch('matmul', [rows, hidden, outputs, h, weights.w2, y]);
    await device.launch('addBias', [rows, outputs, y, weights.b2]);
    await device.launch('softmax', [rows, outputs, y]);
    await device.copyOut(output, y);
    await device.synchronize();
    for (const pointer of [x, h, y]) await device.free(pointer);
  }

  async unload(): Promise<void> {
    for (const pointer of Object.values(this.weights)) await this.device.free(pointer);
    await this.device.synchronize();
  }
}
