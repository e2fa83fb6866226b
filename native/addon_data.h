// Per-environment state of the addon: the JS classes native code instantiates, and the RDMA-CM channel.
#pragma once

#include <napi.h>

#include <memory>

#include "fd_watcher.h"
#include "rdma_api.h"

namespace fabric {

struct AddonData {
  Napi::FunctionReference endpoint_class;
  Napi::FunctionReference memory_region_class;
  rdma_event_channel* cm_channel = nullptr;
  std::unique_ptr<FdWatcher> cm_watcher;
  // Live cm_ids: the CM channel keeps the process alive only while there are some.
  int live_ids = 0;
};

inline AddonData& Data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace fabric
