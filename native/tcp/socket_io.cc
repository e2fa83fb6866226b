#include "tcp/socket_io.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

#include "common/spin_clock.h"

namespace fabric {

// Raw N-API rather than node-addon-api's wrappers: this runs once per frame, and each wrapper adds calls.
Napi::Value SocketWrite(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  if (info.Length() < 1 || info.Length() - 1 > kMaxWriteParts) return Napi::Number::New(env, -EINVAL);
  const size_t count = info.Length() - 1;
  int fd = -1;
  if (napi_get_value_int32(env, info[0], &fd) != napi_ok) return Napi::Number::New(env, -EBADF);
  iovec iov[kMaxWriteParts];
  size_t parts = 0;
  for (size_t i = 0; i < count; i++) {
    napi_typedarray_type type{};
    void* data = nullptr;
    size_t length = 0;
    if (napi_get_typedarray_info(env, info[i + 1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_uint8_array) {
      return Napi::Number::New(env, -EINVAL);
    }
    if (length > 0) iov[parts++] = {data, length};
  }
  size_t next = 0;
  double written = 0;
  while (next < parts) {
    msghdr message{};
    message.msg_iov = &iov[next];
    message.msg_iovlen = parts - next;
    const ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (written > 0 || errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Napi::Number::New(env, -errno);
    }
    written += static_cast<double>(n);
    for (size_t left = static_cast<size_t>(n); left > 0 && next < parts;) {
      const size_t taken = std::min(left, iov[next].iov_len);
      iov[next].iov_base = static_cast<uint8_t*>(iov[next].iov_base) + taken;
      iov[next].iov_len -= taken;
      left -= taken;
      if (iov[next].iov_len == 0) next++;
    }
  }
  return Napi::Number::New(env, written);
}

Napi::Value SocketRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Uint8Array target = info[1].As<Napi::Uint8Array>();
  const SpinDeadline deadline(info[2].As<Napi::Number>().DoubleValue());
  for (;;) {
    const ssize_t n = recv(fd, target.Data(), target.ByteLength(), MSG_DONTWAIT);
    if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Napi::Number::New(env, -errno);
    if (deadline.Passed()) return Napi::Number::New(env, -EAGAIN);
  }
}

Napi::Value SocketKeepalive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const unsigned millis = info[1].As<Napi::Number>().Uint32Value();
  // Idle for half the time, then three probes over the other half; TCP_USER_TIMEOUT bounds the whole.
  const int seconds = static_cast<int>(std::max(1u, millis / 1000));
  const int on = 1, idle = std::max(1, seconds / 2), interval = std::max(1, seconds / 6), probes = 3;
  const unsigned user_timeout = millis;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout) != 0) {
    return Napi::Number::New(env, -errno);
  }
  return Napi::Number::New(env, 0);
}

}  // namespace fabric
