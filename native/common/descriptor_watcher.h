// Tells JS when a descriptor that something else owns has bytes to read or has failed: a socket node:net
// owns, while the TCP transport reads it itself ('spin' and 'hybrid' poll modes), or the shared-memory
// transport's socket and eventfds. It watches a duplicate of the descriptor: libuv allows one watcher per
// descriptor number, and the owner keeps the original (node:net, for its writes). Like node:net's reading, it
// keeps the process alive while it watches.
#pragma once

#include <napi.h>

#include <memory>

#include "common/environment.h"
#include "common/fd_watcher.h"

namespace fabric {

class DescriptorWatcher : public Napi::ObjectWrap<DescriptorWatcher>, public Resource {
 public:
  static Napi::Function Define(Napi::Env env);
  // new DescriptorWatcher(fd, onReadable)
  explicit DescriptorWatcher(const Napi::CallbackInfo& info);
  ~DescriptorWatcher() override;
  // Stops watching and closes the duplicate (the descriptor closes once its owner closes it too).
  void Release() override;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);

  int fd_ = -1;
  std::unique_ptr<FdWatcher> watcher_;
  Napi::FunctionReference on_readable_;
};

}  // namespace fabric
