// The TCP transport's data path on a socket that node:net opened and still owns (connect, accept, close,
// errors): gathered writes and busy-polled reads straight into the caller's memory, without the streams
// layer's per-write work. JS decides when they are safe to use (src/transports/tcp/direct-socket.ts).
#pragma once

#include <napi.h>

namespace fabric {

// Parts one socketWrite takes (a header, its padding, a message's parts); JS hands a frame of more to
// node:net instead.
constexpr size_t kMaxWriteParts = 16;

// socketWrite(fd, ...parts: Uint8Array[]) -> bytes written (may be fewer than given) or -errno: -EINVAL for
// more than kMaxWriteParts parts or one that is not a Uint8Array, -EBADF for an fd that is not an int32.
Napi::Value SocketWrite(const Napi::CallbackInfo& info);

// socketRead(fd, target: Uint8Array, spinMicros) -> bytes read, 0 at end of stream, or -errno
// (-EAGAIN: nothing arrived within spinMicros).
Napi::Value SocketRead(const Napi::CallbackInfo& info);

// socketKeepalive(fd, millis) -> 0 or -errno. The peer is declared gone (the socket fails with ETIMEDOUT)
// once it has acknowledged nothing for `millis`: keepalive probes while idle, TCP_USER_TIMEOUT while data
// waits.
Napi::Value SocketKeepalive(const Napi::CallbackInfo& info);

}  // namespace fabric
