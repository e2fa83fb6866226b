// An environment's RDMA-CM event channel: one non-blocking channel watched on its event loop, whose events
// are handed to the Endpoint that owns each cm_id.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

#include "verbs/rdma_api.h"

namespace fabric {

// What an Endpoint learns of one RDMA-CM event (copied: the event itself is acknowledged before JS runs).
struct CmEvent {
  rdma_cm_event_type type;
  int status;
  rdma_cm_id* id;
  std::vector<uint8_t> private_data;
};

// The shared channel, created on first use; nullptr (with a JS exception pending) if it cannot be.
rdma_event_channel* CmChannel(Napi::Env env);

// Counts a cm_id in (+1) or out (-1): events are awaited, keeping the process alive, while any id lives.
void CountId(Napi::Env env, int delta);

}  // namespace fabric
