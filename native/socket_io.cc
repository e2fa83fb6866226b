#include "socket_io.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

#include "spin_clock.h"

namespace fabric {

Napi::Value SocketWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Array parts = info[1].As<Napi::Array>();
  std::vector<iovec> iov;
  iov.reserve(parts.Length());
  for (uint32_t i = 0; i < parts.Length(); i++) {
    Napi::Uint8Array part = parts.Get(i).As<Napi::Uint8Array>();
    if (part.ByteLength() > 0) iov.push_back({part.Data(), part.ByteLength()});
  }
  size_t next = 0;
  double written = 0;
  while (next < iov.size()) {
    msghdr message{};
    message.msg_iov = &iov[next];
    message.msg_iovlen = std::min<size_t>(iov.size() - next, IOV_MAX);
    const ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (written > 0 || errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Napi::Number::New(env, -errno);
    }
    written += static_cast<double>(n);
    for (size_t left = static_cast<size_t>(n); left > 0 && next < iov.size();) {
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

}  // namespace fabric
