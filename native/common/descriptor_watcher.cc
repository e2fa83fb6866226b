#include "common/descriptor_watcher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "common/loop_callback.h"

namespace fabric {

Napi::Function DescriptorWatcher::Define(Napi::Env env) {
  return DefineClass(env, "DescriptorWatcher", {InstanceMethod<&DescriptorWatcher::Close>("close")});
}

DescriptorWatcher::DescriptorWatcher(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<DescriptorWatcher>(info), Resource(Environment::Of(info.Env())) {
  Napi::Env env = info.Env();
  const double fd = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(fd >= 0 && fd <= 2147483647 && std::floor(fd) == fd) || !info[1].IsFunction()) {
    Napi::TypeError::New(env,
                         "new DescriptorWatcher(fd, onReadable) needs a descriptor number and a function")
        .ThrowAsJavaScriptException();
    return;
  }
  fd_ = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) {
    Napi::Error::New(env, std::string("cannot watch the descriptor: ") + std::strerror(errno))
        .ThrowAsJavaScriptException();
    return;
  }
  on_readable_ = Napi::Persistent(info[1].As<Napi::Function>());
  watcher_ = std::make_unique<FdWatcher>(*environment(), fd_, [this] {
    Napi::HandleScope scope(Env());
    CallFromLoop(Env(), Value(), on_readable_.Value(), 0, nullptr);
  });
}

DescriptorWatcher::~DescriptorWatcher() { Release(); }

void DescriptorWatcher::Release() {
  watcher_.reset();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  on_readable_.Reset();
}

Napi::Value DescriptorWatcher::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace fabric
