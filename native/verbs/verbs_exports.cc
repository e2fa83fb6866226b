#include "verbs/verbs_exports.h"

#include "verbs/devices.h"
#include "verbs/endpoint.h"
#include "verbs/memory_region.h"
#include "verbs/rdma_api.h"
#include "verbs/rdma_environment.h"

namespace fabric {
namespace {

// { loaded: true, forkSafety } or { loaded: false, reason }, with the live endpoints: whether the verbs layer
// can be used on this host.
Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object status = Napi::Object::New(env);
  status.Set("loaded", Rdma() != nullptr);
  if (Rdma() == nullptr) status.Set("reason", LoadError());
  if (Rdma() != nullptr) status.Set("forkSafety", Rdma()->fork_safety);
  // cm_ids alive in this process: what a test checks to see that connections free what they hold.
  status.Set("endpoints", RdmaOf(env).live_ids);
  return status;
}

}  // namespace

void RegisterVerbs(Environment& environment, Napi::Env env, Napi::Object exports) {
  RdmaEnvironment& rdma = environment.Get<RdmaEnvironment>();
  Napi::Function endpoint = Endpoint::Define(env);
  rdma.endpoint_class = Napi::Persistent(endpoint);
  rdma.memory_region_class = Napi::Persistent(MemoryRegion::Define(env));
  exports.Set("status", Napi::Function::New(env, Status));
  exports.Set("devices", Napi::Function::New(env, Devices));
  exports.Set("Endpoint", endpoint);
}

}  // namespace fabric
