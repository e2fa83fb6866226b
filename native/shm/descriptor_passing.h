// The shared-memory transport's setup over a Unix stream socket that node:net owns: passing descriptors (the
// memfd, the eventfds) to the peer and taking the peer's, and asking the kernel who the peer is.
#pragma once

#include <napi.h>

#include <cstddef>

namespace fabric {

// Descriptors one message carries at most.
constexpr size_t kMaxPassedDescriptors = 8;

// sendDescriptors(socketFd, fds) -> 0 or -errno (-EAGAIN: the socket's buffer is full, try again once it is
// writable). Sends one 0x00 byte carrying `fds` (at most kMaxPassedDescriptors) as SCM_RIGHTS, without
// blocking.
Napi::Value SendDescriptors(const Napi::CallbackInfo& info);

// receiveDescriptors(socketFd, max) -> {bytes, fds} or -errno (-EAGAIN: nothing there yet). Receives at most
// one byte (bytes 0: the end of the stream) and the descriptors it carries, close-on-exec; those beyond `max`
// are closed, and all of them where the kernel had to drop some (-EMSGSIZE).
Napi::Value ReceiveDescriptors(const Napi::CallbackInfo& info);

// peerCredentials(socketFd) -> {pid, uid, gid} of the process at the other end (as it was when it connected),
// or -errno.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info);

// peerHungUp(socketFd) -> true once the other end of the socket is closed (POLLRDHUP, POLLHUP or POLLERR),
// false while it is open, -errno where poll fails. What a process closed is closed before its memory goes.
Napi::Value PeerHungUp(const Napi::CallbackInfo& info);

// closeDescriptor(fd) -> 0 or -errno.
Napi::Value CloseDescriptor(const Napi::CallbackInfo& info);

}  // namespace fabric
