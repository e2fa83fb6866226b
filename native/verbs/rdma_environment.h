// The RDMA part of an environment: the JS classes native code instantiates, and the RDMA-CM event channel its
// cm_ids share (released after every Endpoint of the environment, so after every cm_id on the channel).
#pragma once

#include <napi.h>

#include <memory>

#include "common/environment.h"
#include "common/fd_watcher.h"
#include "verbs/rdma_api.h"

namespace fabric {

struct RdmaEnvironment : EnvironmentPart {
  explicit RdmaEnvironment(Environment& owner) : environment(owner) {}
  void Release() override;

  Environment& environment;
  Napi::FunctionReference endpoint_class;
  Napi::FunctionReference memory_region_class;
  rdma_event_channel* cm_channel = nullptr;
  std::unique_ptr<FdWatcher> cm_watcher;
  // Live cm_ids: the CM channel keeps the process alive only while there are some.
  int live_ids = 0;
};

inline RdmaEnvironment& RdmaOf(Napi::Env env) { return Environment::Of(env).Get<RdmaEnvironment>(); }

}  // namespace fabric
