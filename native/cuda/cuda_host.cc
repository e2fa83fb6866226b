#include "cuda/cuda_host.h"

#include <string>
#include <unordered_set>

#include "common/dl_compat.h"
#include "common/environment.h"

namespace fabric {
namespace {

// The few CUDA driver API types and entry points used, as cuda.h declares them.
using CUresult = int;
using CUdevice = int;
using CUcontext = void*;
constexpr unsigned kHostRegisterPortable = 0x01;

struct CudaApi {
  CUresult (*init)(unsigned);
  CUresult (*device_get)(CUdevice*, int);
  CUresult (*primary_ctx_retain)(CUcontext*, CUdevice);
  CUresult (*ctx_push_current)(CUcontext);
  CUresult (*ctx_pop_current)(CUcontext*);
  CUresult (*host_register)(void*, size_t, unsigned);
  CUresult (*host_unregister)(void*);
  CUresult (*get_error_string)(CUresult, const char**);
  CUcontext context;
};

struct LoadedCuda {
  CudaApi api{};
  std::string error;  // empty once usable
};

template <typename Fn>
void Resolve(void* library, const char* symbol, Fn& slot, std::string& error) {
  slot = reinterpret_cast<Fn>(dlsym(library, symbol));
  if (slot == nullptr && error.empty()) error = std::string("libcuda.so.1 lacks ") + symbol;
}

std::string Describe(const CudaApi& api, const char* call, CUresult result) {
  const char* text = nullptr;
  if (api.get_error_string == nullptr || api.get_error_string(result, &text) != 0 || text == nullptr) {
    text = "unknown error";
  }
  return std::string(call) + " failed: " + text + " (CUresult " + std::to_string(result) + ")";
}

// Loads libcuda and retains device 0's primary context, once per process.
LoadedCuda LoadCuda() {
  LoadedCuda loaded;
  void* library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (library == nullptr) {
    loaded.error = std::string("cannot load libcuda.so.1 (the NVIDIA driver): ") + dlerror();
    return loaded;
  }
  CudaApi& api = loaded.api;
  Resolve(library, "cuInit", api.init, loaded.error);
  Resolve(library, "cuDeviceGet", api.device_get, loaded.error);
  Resolve(library, "cuDevicePrimaryCtxRetain", api.primary_ctx_retain, loaded.error);
  Resolve(library, "cuCtxPushCurrent_v2", api.ctx_push_current, loaded.error);
  Resolve(library, "cuCtxPopCurrent_v2", api.ctx_pop_current, loaded.error);
  Resolve(library, "cuMemHostRegister_v2", api.host_register, loaded.error);
  Resolve(library, "cuMemHostUnregister", api.host_unregister, loaded.error);
  Resolve(library, "cuGetErrorString", api.get_error_string, loaded.error);
  if (!loaded.error.empty()) return loaded;
  CUdevice device = 0;
  CUresult result = api.init(0);
  if (result == 0) result = api.device_get(&device, 0);
  if (result == 0) result = api.primary_ctx_retain(&api.context, device);
  if (result != 0) loaded.error = "no CUDA device: " + Describe(api, "cuInit/cuDeviceGet", result);
  return loaded;
}

const LoadedCuda& Cuda() {
  static const LoadedCuda loaded = LoadCuda();
  return loaded;
}

// Where a JS region forgot to unpin (a worker terminated mid-use): its environment unpins at its end, before
// the memory goes back to the allocator still page-locked.
struct PinnedRanges : EnvironmentPart {
  explicit PinnedRanges(Environment&) {}
  void Release() override {
    // Only memory that was pinned, so with CUDA loaded, is listed.
    if (starts.empty()) return;
    const LoadedCuda& cuda = Cuda();
    cuda.api.ctx_push_current(cuda.api.context);
    for (void* start : starts) cuda.api.host_unregister(start);
    CUcontext popped = nullptr;
    cuda.api.ctx_pop_current(&popped);
    starts.clear();
  }
  std::unordered_set<void*> starts;
};

Napi::Object Outcome(Napi::Env env, int status, const std::string& message) {
  Napi::Object outcome = Napi::Object::New(env);
  outcome.Set("status", status);
  if (!message.empty()) outcome.Set("message", message);
  return outcome;
}

// Runs `pin` (register or unregister) on the memory of info[0] with device 0's primary context pushed, and
// pops it again: whatever context the application's own CUDA code has current stays current.
template <typename Pin>
Napi::Value WithContext(const Napi::CallbackInfo& info, const char* call, Pin pin) {
  Napi::Env env = info.Env();
  const LoadedCuda& cuda = Cuda();
  if (!cuda.error.empty()) return Outcome(env, -1, cuda.error);
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  CUresult result = cuda.api.ctx_push_current(cuda.api.context);
  if (result != 0) return Outcome(env, result, Describe(cuda.api, "cuCtxPushCurrent", result));
  result = pin(cuda.api, bytes.Data(), bytes.ByteLength(), Environment::Of(env).Get<PinnedRanges>().starts);
  CUcontext popped = nullptr;
  cuda.api.ctx_pop_current(&popped);
  return Outcome(env, result, result == 0 ? "" : Describe(cuda.api, call, result));
}

}  // namespace

Napi::Value CudaHostRegister(const Napi::CallbackInfo& info) {
  return WithContext(info, "cuMemHostRegister",
                     [](const CudaApi& api, void* data, size_t length, std::unordered_set<void*>& pinned) {
                       const CUresult result = api.host_register(data, length, kHostRegisterPortable);
                       if (result == 0) pinned.insert(data);
                       return result;
                     });
}

Napi::Value CudaHostUnregister(const Napi::CallbackInfo& info) {
  return WithContext(info, "cuMemHostUnregister",
                     [](const CudaApi& api, void* data, size_t, std::unordered_set<void*>& pinned) {
                       const CUresult result = api.host_unregister(data);
                       if (result == 0) pinned.erase(data);
                       return result;
                     });
}

}  // namespace fabric
