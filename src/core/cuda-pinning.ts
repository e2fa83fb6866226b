import { FabricError } from '../api/errors.js';
import { nativePart } from './native-addon.js';

/** The addon's CUDA part (native/cuda/). */
interface CudaNative {
  /** Page-locks memory for CUDA DMA: status 0, -1 without CUDA (no driver, no device), else the CUresult. */
  cudaHostRegister(bytes: Uint8Array): { status: number; message?: string };
  cudaHostUnregister(bytes: Uint8Array): { status: number; message?: string };
}

/** CUresult values that have an error code of their own (cuda.h). */
const CUDA_ERROR_OUT_OF_MEMORY = 2;
const CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712;

function cudaError(status: number, message = ''): FabricError {
  if (status === -1) {
    return new FabricError(
      'ENODEV',
      `cudaPinned: CUDA is not available here (${message}): install the NVIDIA driver, or register without cudaPinned`,
    );
  }
  if (status === CUDA_ERROR_OUT_OF_MEMORY) {
    return new FabricError('ENOMEM', `cudaPinned: ${message}: pin less memory, or raise \`ulimit -l\``);
  }
  if (status === CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED) {
    return new FabricError(
      'EINVAL',
      `cudaPinned: ${message}: this memory is page-locked already (registered with cudaPinned twice?)`,
    );
  }
  return new FabricError('EINVAL', `cudaPinned: ${message}`);
}

/**
 * Page-locks `bytes` for CUDA DMA (cuMemHostRegister, portable to every context, through libcuda loaded at
 * run time), so that host-to-device copies from them run at the bus's speed; returns what unpins them.
 */
export function pinForCuda(bytes: Uint8Array): () => void {
  const addon = nativePart<CudaNative>();
  if (typeof addon === 'string')
    throw new FabricError('ENODEV', `cudaPinned needs the native addon: ${addon}`);
  const pinned = addon.cudaHostRegister(bytes);
  if (pinned.status !== 0) throw cudaError(pinned.status, pinned.message);
  return () => {
    addon.cudaHostUnregister(bytes);
  };
}
