#include "common/fd_watcher.h"

namespace fabric {

FdWatcher::FdWatcher(Environment& environment, int fd, std::function<void()> on_readable)
    : state_(new State{{}, std::move(on_readable), &environment, false}) {
  state_->open = uv_poll_init(environment.loop(), &state_->handle, fd) == 0;
  if (!state_->open) return;
  environment.HandleOpened();
  state_->handle.data = state_;
  // Called on errors too (libuv stops polling after POLLERR, e.g. a reset socket): the read that follows
  // meets the error, where ignoring it would leave the owner waiting forever. While Node closes its own
  // handles at an environment's end, before the environment releases this one, JS can no longer run: what
  // the callback reads then is dropped (the N-API calls that would hand it over fail quietly).
  uv_poll_start(&state_->handle, UV_READABLE, [](uv_poll_t* handle, int, int) {
    auto* state = static_cast<State*>(handle->data);
    if (state->on_readable) state->on_readable();
  });
}

void FdWatcher::KeepAlive(bool keep) {
  if (!state_->open) return;
  auto* handle = reinterpret_cast<uv_handle_t*>(&state_->handle);
  if (keep) {
    uv_ref(handle);
  } else {
    uv_unref(handle);
  }
}

FdWatcher::~FdWatcher() {
  if (!state_->open) {
    delete state_;
    return;
  }
  // The handle (and the callback, which may be running right now) outlive this object until libuv closes it;
  // the environment outlives the handle, so the addon stays loaded until the close callback has run.
  uv_poll_stop(&state_->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&state_->handle), [](uv_handle_t* handle) {
    auto* state = static_cast<State*>(handle->data);
    Environment* environment = state->environment;
    delete state;
    environment->HandleClosed();
  });
}

}  // namespace fabric
