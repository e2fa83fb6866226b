// Endpoint: one RDMA-CM id and, once set up, its reliable-connected queue pair, completion queue and
// completion channel. JS drives it (src/transports/verbs/); events come back through one callback:
//   onEvent('route-resolved' | 'established' | 'disconnected' | 'error', detail?)
//   onEvent('connect-request', endpoint, privateData)       on a listening endpoint
//   onEvent('completions', Uint32Array [wrId, status, opcode, byteLength] * n)
// pollCompletions(spinMicros) returns the same array directly ('spin' and 'hybrid' poll modes).
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "common/environment.h"
#include "common/fd_watcher.h"
#include "verbs/cm_events.h"
#include "verbs/rdma_api.h"

namespace fabric {

class Endpoint : public Napi::ObjectWrap<Endpoint>, public Resource {
 public:
  static Napi::Function Define(Napi::Env env);
  // A JS Endpoint for an incoming cm_id, or nullptr where it cannot be made (the environment is ending).
  static napi_value Wrap(Napi::Env env, rdma_cm_id* id);

  explicit Endpoint(const Napi::CallbackInfo& info);
  ~Endpoint() override;

  void OnCmEvent(const CmEvent& event);
  // Destroys the queue pair, CQ, completion channel and cm_id (destroy(), finalization, the environment's
  // end).
  void Release() override;

 private:
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value Resolve(const Napi::CallbackInfo& info);
  Napi::Value Setup(const Napi::CallbackInfo& info);
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Accept(const Napi::CallbackInfo& info);
  Napi::Value Reject(const Napi::CallbackInfo& info);
  Napi::Value Disconnect(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  Napi::Value SetCallback(const Napi::CallbackInfo& info);
  Napi::Value DeviceName(const Napi::CallbackInfo& info);
  Napi::Value PortNumber(const Napi::CallbackInfo& info);
  Napi::Value Register(const Napi::CallbackInfo& info);
  Napi::Value PostSend(const Napi::CallbackInfo& info);
  Napi::Value PostRecv(const Napi::CallbackInfo& info);
  Napi::Value PollCompletions(const Napi::CallbackInfo& info);

  void Emit(std::initializer_list<napi_value> args);
  void DrainCompletions();
  void CollectCompletions(std::vector<uint32_t>* out);
  static napi_value CompletionArray(napi_env env, const std::vector<uint32_t>& completions);
  Napi::Value Fail(Napi::Env env, const char* what, int error);
  bool Usable(Napi::Env env, bool needs_device);

  rdma_cm_id* id_ = nullptr;
  ibv_comp_channel* channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  int unacked_events_ = 0;
  std::unique_ptr<FdWatcher> cq_watcher_;
  Napi::FunctionReference callback_;
  int route_timeout_ms_ = 2000;
};

}  // namespace fabric
