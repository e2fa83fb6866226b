// What the TCP part adds to the addon's exports: the socket fast path (socketWrite, socketRead,
// socketKeepalive, maxWriteParts) and SocketWatcher.
#pragma once

#include <napi.h>

namespace fabric {

class Environment;

void RegisterTcp(Environment& environment, Napi::Env env, Napi::Object exports);

}  // namespace fabric
