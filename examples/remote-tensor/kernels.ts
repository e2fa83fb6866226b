// The kernels both devices run, on float32 device memory. Each declares its parameters, so that a device can
// check every launch (pointers it owns, sizes within their allocations) before touching memory.
import { DeviceError, type DevicePointer } from './device.js';

type Param = 'count' | 'scalar' | 'pointer';

interface Kernel {
  params: readonly Param[];
  /** Floats each pointer argument must hold, by parameter index. */
  needs(args: readonly number[]): Record<number, number>;
  run(args: readonly number[], memory: (pointer: DevicePointer) => Float32Array): void;
}

const KERNELS = {
  /** saxpy(n, a, x, y): y ← a·x + y */
  saxpy: {
    params: ['count', 'scalar', 'pointer', 'pointer'],
    needs: ([n]) => ({ 2: n as number, 3: n as number }),
    run([n, a, x, y], memory) {
      const xs = memory(x as number);
      const ys = memory(y as number);
      for (let i = 0; i < (n as number); i++) ys[i] = (a as number) * (xs[i] as number) + (ys[i] as number);
    },
  },
  /** matmul(m, k, n, A, B, C): C[m×n] ← A[m×k] · B[k×n], row-major */
  matmul: {
    params: ['count', 'count', 'count', 'pointer', 'pointer', 'pointer'],
    needs: ([m, k, n]) => ({
      3: (m as number) * (k as number),
      4: (k as number) * (n as number),
      5: (m as number) * (n as number),
    }),
    run([m, k, n, a, b, c], memory) {
      const [as, bs, cs] = [memory(a as number), memory(b as number), memory(c as number)];
      const [rows, inner, cols] = [m as number, k as number, n as number];
      // With no rows, n is bounded by nothing: there is nothing to compute either.
      if (rows === 0) return;
      const row = new Float32Array(cols);
      for (let i = 0; i < rows; i++) {
        row.fill(0);
        for (let p = 0; p < inner; p++) {
          const scale = as[i * inner + p] as number;
          for (let j = 0; j < cols; j++) row[j] = (row[j] as number) + scale * (bs[p * cols + j] as number);
        }
        cs.set(row, i * cols);
      }
    },
  },
  /** addBias(rows, cols, X, b): X[r][c] ← X[r][c] + b[c] */
  addBias: {
    params: ['count', 'count', 'pointer', 'pointer'],
    needs: ([rows, cols]) => ({ 2: (rows as number) * (cols as number), 3: cols as number }),
    run([rows, cols, x, b], memory) {
      const [xs, bs] = [memory(x as number), memory(b as number)];
      for (let r = 0; r < (rows as number); r++)
        for (let c = 0; c < (cols as number); c++)
          xs[r * (cols as number) + c] = (xs[r * (cols as number) + c] as number) + (bs[c] as number);
    },
  },
  /** relu(n, X): X ← max(X, 0) */
  relu: {
    params: ['count', 'pointer'],
    needs: ([n]) => ({ 1: n as number }),
    run([n, x], memory) {
      const xs = memory(x as number);
      for (let i = 0; i < (n as number); i++) if ((xs[i] as number) < 0) xs[i] = 0;
    },
  },
  /** softmax(rows, cols, X): each row of X ← its softmax */
  softmax: {
    params: ['count', 'count', 'pointer'],
    needs: ([rows, cols]) => ({ 2: (rows as number) * (cols as number) }),
    run([rows, cols, x], memory) {
      const xs = memory(x as number);
      const width = cols as number;
      for (let r = 0; r < (rows as number); r++) {
        const row = xs.subarray(r * width, (r + 1) * width);
        const max = row.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
        let sum = 0;
        for (let c = 0; c < width; c++) {
          row[c] = Math.exp((row[c] as number) - max);
          sum += row[c] as number;
        }
        for (let c = 0; c < width; c++) row[c] = (row[c] as number) / sum;
      }
    },
  },
} satisfies Record<string, Kernel>;

export type KernelName = keyof typeof KERNELS;
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

/**
 * Checks a launch and runs it. `memory` returns an allocation as floats, or throws EACCES for a pointer
 * this client does not own.
 */
export function runKernel(
  name: unknown,
  args: readonly number[],
  memory: (pointer: DevicePointer) => Float32Array,
): void {
  const kernel: Kernel | undefined =
    typeof name === 'string' && Object.hasOwn(KERNELS, name) ? KERNELS[name as KernelName] : undefined;
  if (!kernel) throw new DeviceError('EINVAL', `no kernel named ${String(name)}: ${KERNEL_NAMES.join(', ')}`);
  if (args.length !== kernel.params.length) {
    throw new DeviceError(
      'EINVAL',
      `${String(name)} takes ${kernel.params.length} arguments, got ${args.length}`,
    );
  }
  kernel.params.forEach((param, i) => {
    const value = args[i] as number;
    const valid = param === 'scalar' ? Number.isFinite(value) : Number.isSafeInteger(value) && value >= 0;
    if (!valid)
      throw new DeviceError('EINVAL', `${String(name)}: argument ${i} must be a ${param}, got ${value}`);
  });
  for (const [index, floats] of Object.entries(kernel.needs(args))) {
    const pointer = args[Number(index)] as number;
    const length = memory(pointer).length;
    if (floats > length) {
      throw new DeviceError(
        'ERANGE',
        `${String(name)}: argument ${index} needs ${floats} floats, allocation ${pointer} holds ${length}`,
      );
    }
  }
  kernel.run(args, memory);
}
