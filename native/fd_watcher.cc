#include "fd_watcher.h"

namespace fabric {

FdWatcher::FdWatcher(uv_loop_t* loop, int fd, std::function<void()> on_readable)
    : state_(new State{{}, std::move(on_readable)}) {
  uv_poll_init(loop, &state_->handle, fd);
  state_->handle.data = state_;
  // Called on errors too (libuv stops polling after POLLERR, e.g. a reset socket): the read that follows
  // meets the error, where ignoring it would leave the owner waiting forever.
  uv_poll_start(&state_->handle, UV_READABLE, [](uv_poll_t* handle, int, int) {
    auto* state = static_cast<State*>(handle->data);
    if (state->on_readable) state->on_readable();
  });
}

void FdWatcher::KeepAlive(bool keep) {
  auto* handle = reinterpret_cast<uv_handle_t*>(&state_->handle);
  if (keep) {
    uv_ref(handle);
  } else {
    uv_unref(handle);
  }
}

FdWatcher::~FdWatcher() {
  // The handle (and the callback, which may be running right now) outlive this object until libuv closes it.
  uv_poll_stop(&state_->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&state_->handle),
           [](uv_handle_t* handle) { delete static_cast<State*>(handle->data); });
}

}  // namespace fabric
