// What the addon holds for one Node.js environment (the main thread, or one worker_thread): every native
// resource made there belongs to it. When the environment ends (a worker terminated or done, the process
// exiting), an async cleanup hook releases whatever is still held, whatever its JS wrapper's state, and keeps
// the environment alive until libuv has closed every handle: a close callback that ran after Node unloaded
// the addon of an ended worker would jump into unmapped code.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

namespace fabric {

class Environment;

// A native object that holds something outside the JS heap (a watched descriptor, a cm_id, a registration).
// Its owner releases it; whatever is left when the environment ends is released by the environment, once,
// before or after the JS wrapper is finalized.
class Resource {
 public:
  explicit Resource(Environment& environment);
  virtual ~Resource();
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;
  // Frees what it holds; safe to call again.
  virtual void Release() = 0;

 protected:
  // nullptr once the environment has ended.
  Environment* environment() const { return environment_; }

 private:
  friend class Environment;
  Environment* environment_;
};

// Per-environment state of one part of the addon (the RDMA-CM channel, CUDA's pinned ranges), made on first
// use and released after every Resource.
class EnvironmentPart {
 public:
  virtual ~EnvironmentPart() = default;
  virtual void Release() = 0;
};

class Environment {
 public:
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  // Called from the addon's Init, once per environment; false (with a JS exception pending) if it cannot be.
  static bool Install(Napi::Env env);
  static Environment& Of(Napi::Env env);

  uv_loop_t* loop() const { return loop_; }

  template <typename Part>
  Part& Get() {
    static const char key = 0;
    for (auto& [k, part] : parts_) {
      if (k == &key) return static_cast<Part&>(*part);
    }
    parts_.emplace_back(&key, std::make_unique<Part>(*this));
    return static_cast<Part&>(*parts_.back().second);
  }

  // libuv handles of this environment between uv_*_init and their close callback.
  void HandleOpened() { open_handles_++; }
  void HandleClosed();

 private:
  friend class Resource;
  explicit Environment(napi_env env);
  static void OnEnd(napi_async_cleanup_hook_handle hook, void* self);
  static void OnFinalize(napi_env env, void* self, void* hint);
  void FinishWhenClosed();

  uv_loop_t* loop_ = nullptr;
  std::unordered_set<Resource*> resources_;
  std::vector<std::pair<const char*, std::unique_ptr<EnvironmentPart>>> parts_;
  napi_async_cleanup_hook_handle hook_ = nullptr;
  int open_handles_ = 0;
  bool ended_ = false;
  bool finished_ = false;
  bool finalized_ = false;
};

}  // namespace fabric
