// Page-locking registered host memory for CUDA DMA, through libcuda resolved at run time (as libibverbs is):
// the addon neither links against CUDA nor needs it installed, and says why when it cannot pin.
#pragma once

#include <napi.h>

namespace fabric {

// cudaHostRegister(bytes: Uint8Array) -> { status, message? }: status 0 once the memory is page-locked for
// every CUDA context (cuMemHostRegister, CU_MEMHOSTREGISTER_PORTABLE); -1 where CUDA is not available (no
// libcuda.so.1, no device); else the CUresult, with cuGetErrorString's text.
Napi::Value CudaHostRegister(const Napi::CallbackInfo& info);

// cudaHostUnregister(bytes: Uint8Array) -> the same shape, for the memory pinned by cudaHostRegister.
Napi::Value CudaHostUnregister(const Napi::CallbackInfo& info);

}  // namespace fabric
