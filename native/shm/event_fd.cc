#include "shm/event_fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "shm/arguments.h"
#include "shm/owned_descriptors.h"

namespace fabric {

Napi::Value EventfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    ThrowSystemError(env, "eventfdCreate: eventfd failed", error,
                     error == EMFILE || error == ENFILE
                         ? "too many open descriptors: close some, or raise the limit with `ulimit -n`"
                         : nullptr);
    return env.Undefined();
  }
  OwnedDescriptors::Of(env).Add(fd);
  return Napi::Number::New(env, fd);
}

Napi::Value EventfdSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!DescriptorArgument(env, info[0], "eventfdSignal(fd)", "fd", &fd)) return env.Undefined();
  const uint64_t one = 1;
  for (;;) {
    if (write(fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one)) return Napi::Number::New(env, 0);
    if (errno == EINTR) continue;
    return Napi::Number::New(env, errno == EAGAIN ? 0 : -errno);
  }
}

Napi::Value EventfdDrain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!DescriptorArgument(env, info[0], "eventfdDrain(fd)", "fd", &fd)) return env.Undefined();
  uint64_t count = 0;
  for (;;) {
    const ssize_t n = read(fd, &count, sizeof count);
    if (n == static_cast<ssize_t>(sizeof count)) return Napi::Number::New(env, static_cast<double>(count));
    // Anything but 8 bytes means this is not an eventfd (a pipe, a file).
    if (n >= 0) return Napi::Number::New(env, -EINVAL);
    if (errno == EINTR) continue;
    return Napi::Number::New(env, errno == EAGAIN ? 0 : -errno);
  }
}

}  // namespace fabric
