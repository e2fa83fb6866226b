// Tells JS when a socket that node:net owns has bytes to read, while the TCP transport reads them itself
// ('spin' and 'hybrid' poll modes). It watches a duplicate of the descriptor: libuv allows one watcher per
// descriptor number, and node:net's handle keeps the original (for its writes). Like node:net's reading, it
// keeps the process alive while the connection is open.
#pragma once

#include <napi.h>

#include <memory>

#include "common/environment.h"
#include "common/fd_watcher.h"

namespace fabric {

class SocketWatcher : public Napi::ObjectWrap<SocketWatcher>, public Resource {
 public:
  static Napi::Function Define(Napi::Env env);
  // new SocketWatcher(fd, onReadable)
  explicit SocketWatcher(const Napi::CallbackInfo& info);
  ~SocketWatcher() override;
  // Stops watching and closes the duplicate (the socket closes once node:net closes it too).
  void Release() override;

 private:
  Napi::Value Close(const Napi::CallbackInfo& info);

  int fd_ = -1;
  std::unique_ptr<FdWatcher> watcher_;
  Napi::FunctionReference on_readable_;
};

}  // namespace fabric
