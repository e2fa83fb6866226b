// MemoryRegion: the JS class of registered memory (Endpoint's register()), which keeps the ArrayBuffer alive
// while the MR exists.
#pragma once

#include <infiniband/verbs.h>
#include <napi.h>

#include "common/environment.h"

namespace fabric {

class MemoryRegion : public Napi::ObjectWrap<MemoryRegion>, public Resource {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit MemoryRegion(const Napi::CallbackInfo& info);
  ~MemoryRegion() override;
  void Attach(ibv_mr* mr, Napi::Object memory);
  // Deregisters the MR and lets the memory go.
  void Release() override;

 private:
  Napi::Value Deregister(const Napi::CallbackInfo& info);
  ibv_mr* mr_ = nullptr;
  Napi::ObjectReference memory_;
};

}  // namespace fabric
