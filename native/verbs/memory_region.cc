#include "verbs/memory_region.h"

#include "verbs/rdma_api.h"

namespace fabric {

Napi::Function MemoryRegion::Define(Napi::Env env) {
  return DefineClass(env, "MemoryRegion", {InstanceMethod<&MemoryRegion::Deregister>("deregister")});
}

MemoryRegion::MemoryRegion(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<MemoryRegion>(info), Resource(Environment::Of(info.Env())) {}

MemoryRegion::~MemoryRegion() { Release(); }

void MemoryRegion::Release() {
  if (mr_ != nullptr) Rdma()->dereg_mr(mr_);
  mr_ = nullptr;
  memory_.Reset();
}

void MemoryRegion::Attach(ibv_mr* mr, Napi::Object memory) {
  mr_ = mr;
  memory_ = Napi::Persistent(memory);
}

Napi::Value MemoryRegion::Deregister(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace fabric
