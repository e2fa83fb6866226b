// Calls back on the Node event loop whenever a file descriptor becomes readable or fails (uv_poll_t), so
// that completion and RDMA-CM events, and TCP bytes in the 'spin' and 'hybrid' modes, reach JS without
// helper threads.
#pragma once

#include <uv.h>

#include <functional>

#include "common/environment.h"

namespace fabric {

class FdWatcher {
 public:
  FdWatcher(Environment& environment, int fd, std::function<void()> on_readable);
  ~FdWatcher();
  FdWatcher(const FdWatcher&) = delete;
  FdWatcher& operator=(const FdWatcher&) = delete;
  // Whether a watched descriptor alone keeps the Node process alive.
  void KeepAlive(bool keep);

 private:
  struct State {
    uv_poll_t handle;
    std::function<void()> on_readable;
    Environment* environment;
    // False where uv_poll_init refused the descriptor: then there is no handle to close.
    bool open;
  };
  State* state_;
};

}  // namespace fabric
