#include "shm/descriptor_passing.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "shm/arguments.h"
#include "shm/owned_descriptors.h"

namespace fabric {

namespace {

// Control-message space for kMaxPassedDescriptors descriptors, aligned as cmsghdr needs.
union ControlBuffer {
  char bytes[CMSG_SPACE(sizeof(int) * kMaxPassedDescriptors)];
  cmsghdr align;
};

// The one-byte message both directions pass, with room for the descriptors beside it.
struct OneByteMessage {
  char byte = 0;
  iovec iov{&byte, 1};
  msghdr header{};
  // Last: cmsghdr ends in a flexible array member.
  ControlBuffer control{};
  OneByteMessage() {
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
  }
  OneByteMessage(const OneByteMessage&) = delete;
  OneByteMessage& operator=(const OneByteMessage&) = delete;
};

}  // namespace

Napi::Value SendDescriptors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* call = "sendDescriptors(socketFd, fds)";
  int socket_fd = -1;
  if (!DescriptorArgument(env, info[0], call, "socketFd", &socket_fd)) return env.Undefined();
  if (!info[1].IsArray() || info[1].As<Napi::Array>().Length() > kMaxPassedDescriptors) {
    Napi::TypeError::New(env, std::string(call) + ": fds must be an array of at most " +
                                  std::to_string(kMaxPassedDescriptors) + " descriptor numbers")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array list = info[1].As<Napi::Array>();
  const size_t count = list.Length();
  int fds[kMaxPassedDescriptors] = {};
  for (size_t i = 0; i < count; i++) {
    Napi::Value element = list.Get(static_cast<uint32_t>(i));
    if (env.IsExceptionPending() || !DescriptorArgument(env, element, call, "each of fds", &fds[i])) {
      return env.Undefined();
    }
  }
  OneByteMessage one;
  msghdr& message = one.header;
  if (count > 0) {
    message.msg_control = one.control.bytes;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * count);
    std::memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
  }
  for (;;) {
    if (sendmsg(socket_fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) return Napi::Number::New(env, 0);
    if (errno != EINTR) return Napi::Number::New(env, -errno);
  }
}

Napi::Value ReceiveDescriptors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* call = "receiveDescriptors(socketFd, max)";
  int socket_fd = -1;
  double max = 0;
  if (!DescriptorArgument(env, info[0], call, "socketFd", &socket_fd) ||
      !IntegerArgument(env, info[1], call, "max", 0, 2147483647, &max)) {
    return env.Undefined();
  }
  OneByteMessage one;
  msghdr& message = one.header;
  message.msg_control = one.control.bytes;
  message.msg_controllen = sizeof one.control.bytes;
  ssize_t received = -1;
  do {
    received = recvmsg(socket_fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  if (received < 0) return Napi::Number::New(env, -errno);
  // What arrived is ours to close, whatever is done with it next.
  int arrived[kMaxPassedDescriptors * 2];
  size_t count = 0;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t carried = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < carried; i++) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
      if (count < sizeof arrived / sizeof arrived[0]) {
        arrived[count++] = fd;
      } else {
        close(fd);
      }
    }
  }
  if ((message.msg_flags & MSG_CTRUNC) != 0) {
    for (size_t i = 0; i < count; i++) close(arrived[i]);
    return Napi::Number::New(env, -EMSGSIZE);
  }
  const size_t kept = static_cast<double>(count) < max ? count : static_cast<size_t>(max);
  for (size_t i = kept; i < count; i++) close(arrived[i]);
  Napi::Array fds = Napi::Array::New(env, kept);
  for (size_t i = 0; i < kept; i++) {
    OwnedDescriptors::Of(env).Add(arrived[i]);
    fds.Set(static_cast<uint32_t>(i), Napi::Number::New(env, arrived[i]));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("bytes", Napi::Number::New(env, static_cast<double>(received)));
  result.Set("fds", fds);
  return result;
}

Napi::Value PeerHungUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int socket_fd = -1;
  if (!DescriptorArgument(env, info[0], "peerHungUp(socketFd)", "socketFd", &socket_fd))
    return env.Undefined();
  pollfd watched{socket_fd, POLLRDHUP, 0};
  int ready = -1;
  do {
    ready = poll(&watched, 1, 0);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return Napi::Number::New(env, -errno);
  return Napi::Boolean::New(env, (watched.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0);
}

Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int socket_fd = -1;
  if (!DescriptorArgument(env, info[0], "peerCredentials(socketFd)", "socketFd", &socket_fd)) {
    return env.Undefined();
  }
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (getsockopt(socket_fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return Napi::Number::New(env, -errno);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, credentials.pid));
  result.Set("uid", Napi::Number::New(env, credentials.uid));
  result.Set("gid", Napi::Number::New(env, credentials.gid));
  return result;
}

Napi::Value CloseDescriptor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!DescriptorArgument(env, info[0], "closeDescriptor(fd)", "fd", &fd)) return env.Undefined();
  return Napi::Number::New(env, OwnedDescriptors::Of(env).Close(fd));
}

}  // namespace fabric
