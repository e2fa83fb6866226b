// The native addon's entry point: each part adds what JS can call. Built with rdma-core's headers, the verbs
// part is there; built without them, status() only says so (see binding.gyp). TCP, shared memory (shm) and
// CUDA are always there, and so is what they share: DescriptorWatcher.
#include <napi.h>

#include "common/descriptor_watcher.h"
#include "common/environment.h"
#include "cuda/cuda_exports.h"
#include "shm/shm_exports.h"
#include "tcp/tcp_exports.h"

#ifdef FABRIC_HAVE_RDMA
#include "verbs/verbs_exports.h"
#endif

namespace {

// The interface JS expects (src/native.ts, ADDON_INTERFACE): raised whenever a function's arguments or
// results change, so that an addon built from older sources is refused rather than called wrongly.
constexpr int kInterface = 4;

#ifndef FABRIC_HAVE_RDMA
// status() where the verbs part is not built (verbs/verbs_exports.cc has the other).
Napi::Value StatusWithoutVerbs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object status = Napi::Object::New(env);
  status.Set("loaded", false);
  status.Set("reason",
             "this build of the addon has no verbs support: rdma-core's headers were missing when it was "
             "built (install libibverbs-dev and librdmacm-dev, then run npm run build:native)");
  return status;
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (!fabric::Environment::Install(env)) return exports;
  fabric::Environment& environment = fabric::Environment::Of(env);
  exports.Set("interface", Napi::Number::New(env, kInterface));
  exports.Set("DescriptorWatcher", fabric::DescriptorWatcher::Define(env));
  fabric::RegisterTcp(environment, env, exports);
  fabric::RegisterShm(environment, env, exports);
  fabric::RegisterCuda(environment, env, exports);
#ifdef FABRIC_HAVE_RDMA
  fabric::RegisterVerbs(environment, env, exports);
#else
  exports.Set("status", Napi::Function::New(env, StatusWithoutVerbs));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(fabric_transport, Init)
