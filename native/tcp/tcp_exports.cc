#include "tcp/tcp_exports.h"

#include "tcp/socket_io.h"

namespace fabric {

void RegisterTcp(Environment&, Napi::Env env, Napi::Object exports) {
  exports.Set("maxWriteParts", Napi::Number::New(env, kMaxWriteParts));
  exports.Set("socketWrite", Napi::Function::New(env, SocketWrite));
  exports.Set("socketRead", Napi::Function::New(env, SocketRead));
  exports.Set("socketKeepalive", Napi::Function::New(env, SocketKeepalive));
}

}  // namespace fabric
