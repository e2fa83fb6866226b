#include "cuda/cuda_exports.h"

#include "cuda/cuda_host.h"

namespace fabric {

void RegisterCuda(Environment&, Napi::Env env, Napi::Object exports) {
  exports.Set("cudaHostRegister", Napi::Function::New(env, CudaHostRegister));
  exports.Set("cudaHostUnregister", Napi::Function::New(env, CudaHostUnregister));
}

}  // namespace fabric
