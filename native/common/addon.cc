// The native addon's entry point: what JS can call. Built with rdma-core's headers, it exposes the verbs
// layer; built without them, it only says so (see binding.gyp). The TCP data path is always there.
#include <napi.h>

#include "common/environment.h"
#include "cuda/cuda_host.h"
#include "tcp/socket_io.h"
#include "tcp/socket_watcher.h"

#ifdef FABRIC_HAVE_RDMA
#include "verbs/devices.h"
#include "verbs/endpoint.h"
#include "verbs/memory_region.h"
#include "verbs/rdma_api.h"
#include "verbs/rdma_environment.h"
#endif

namespace {

// The interface JS expects (src/native.ts, ADDON_INTERFACE): raised whenever a function's arguments or
// results change, so that an addon built from older sources is refused rather than called wrongly.
constexpr int kInterface = 2;

// { loaded: true } or { loaded: false, reason }: whether the verbs layer can be used on this host.
Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object status = Napi::Object::New(env);
#ifdef FABRIC_HAVE_RDMA
  status.Set("loaded", fabric::Rdma() != nullptr);
  if (fabric::Rdma() == nullptr) status.Set("reason", fabric::LoadError());
  if (fabric::Rdma() != nullptr) status.Set("forkSafety", fabric::Rdma()->fork_safety);
  // cm_ids alive in this process: what a test checks to see that connections free what they hold.
  status.Set("endpoints", fabric::RdmaOf(env).live_ids);
#else
  status.Set("loaded", false);
  status.Set("reason",
             "this build of the addon has no verbs support: rdma-core's headers were missing when it was "
             "built (install libibverbs-dev and librdmacm-dev, then run npm run build:native)");
#endif
  return status;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!fabric::Environment::Install(env)) return exports;
  exports.Set("interface", Napi::Number::New(env, kInterface));
  exports.Set("status", Napi::Function::New(env, Status));
  exports.Set("maxWriteParts", Napi::Number::New(env, fabric::kMaxWriteParts));
  exports.Set("socketWrite", Napi::Function::New(env, fabric::SocketWrite));
  exports.Set("socketRead", Napi::Function::New(env, fabric::SocketRead));
  exports.Set("socketKeepalive", Napi::Function::New(env, fabric::SocketKeepalive));
  exports.Set("SocketWatcher", fabric::SocketWatcher::Define(env));
  exports.Set("cudaHostRegister", Napi::Function::New(env, fabric::CudaHostRegister));
  exports.Set("cudaHostUnregister", Napi::Function::New(env, fabric::CudaHostUnregister));
#ifdef FABRIC_HAVE_RDMA
  exports.Set("devices", Napi::Function::New(env, fabric::Devices));
  fabric::RdmaEnvironment& rdma = fabric::RdmaOf(env);
  Napi::Function endpoint = fabric::Endpoint::Define(env);
  rdma.endpoint_class = Napi::Persistent(endpoint);
  rdma.memory_region_class = Napi::Persistent(fabric::MemoryRegion::Define(env));
  exports.Set("Endpoint", endpoint);
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(fabric_transport, Init)
