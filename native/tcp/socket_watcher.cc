#include "tcp/socket_watcher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/loop_callback.h"

namespace fabric {

Napi::Function SocketWatcher::Define(Napi::Env env) {
  return DefineClass(env, "SocketWatcher", {InstanceMethod<&SocketWatcher::Close>("close")});
}

SocketWatcher::SocketWatcher(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<SocketWatcher>(info), Resource(Environment::Of(info.Env())) {
  Napi::Env env = info.Env();
  fd_ = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) {
    Napi::Error::New(env, std::string("cannot watch the socket: ") + std::strerror(errno))
        .ThrowAsJavaScriptException();
    return;
  }
  on_readable_ = Napi::Persistent(info[1].As<Napi::Function>());
  watcher_ = std::make_unique<FdWatcher>(*environment(), fd_, [this] {
    Napi::HandleScope scope(Env());
    CallFromLoop(Env(), Value(), on_readable_.Value(), 0, nullptr);
  });
}

SocketWatcher::~SocketWatcher() { Release(); }

void SocketWatcher::Release() {
  watcher_.reset();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  on_readable_.Reset();
}

Napi::Value SocketWatcher::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace fabric
