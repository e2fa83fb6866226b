#include "common/environment.h"

namespace fabric {

Resource::Resource(Environment& environment) : environment_(&environment) {
  environment.resources_.insert(this);
}

Resource::~Resource() {
  if (environment_ != nullptr) environment_->resources_.erase(this);
}

Environment::Environment(napi_env env) { napi_get_uv_event_loop(env, &loop_); }

bool Environment::Install(Napi::Env env) {
  auto* environment = new Environment(env);
  if (napi_add_async_cleanup_hook(env, OnEnd, environment, &environment->hook_) != napi_ok) {
    delete environment;
    Napi::Error::New(env, "fabric-transport: cannot add the environment's cleanup hook")
        .ThrowAsJavaScriptException();
    return false;
  }
  napi_set_instance_data(env, environment, OnFinalize, nullptr);
  return true;
}

Environment& Environment::Of(Napi::Env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return *static_cast<Environment*>(data);
}

// Node calls this when the environment ends, before it finalizes the JS wrappers; JS can no longer run.
void Environment::OnEnd(napi_async_cleanup_hook_handle, void* self) {
  auto* environment = static_cast<Environment*>(self);
  environment->ended_ = true;
  // Released in turn, each detached first: releasing one may release others (an endpoint's watcher).
  while (!environment->resources_.empty()) {
    Resource* resource = *environment->resources_.begin();
    environment->resources_.erase(environment->resources_.begin());
    resource->environment_ = nullptr;
    resource->Release();
  }
  for (auto it = environment->parts_.rbegin(); it != environment->parts_.rend(); ++it) it->second->Release();
  environment->FinishWhenClosed();
}

void Environment::HandleClosed() {
  open_handles_--;
  if (ended_) FinishWhenClosed();
}

// Once the last handle is closed, Node may go on to unload the addon; the instance data goes last.
void Environment::FinishWhenClosed() {
  if (open_handles_ > 0 || finished_) return;
  finished_ = true;
  napi_remove_async_cleanup_hook(hook_);
  if (finalized_) delete this;
}

void Environment::OnFinalize(napi_env, void* self, void*) {
  auto* environment = static_cast<Environment*>(self);
  environment->finalized_ = true;
  if (environment->finished_) delete environment;
}

}  // namespace fabric
