// What the TCP part adds to the addon's exports: the socket fast path (socketWrite, socketRead,
// socketKeepalive, maxWriteParts). It watches sockets with the common part's DescriptorWatcher.
#pragma once

#include <napi.h>

namespace fabric {

class Environment;

void RegisterTcp(Environment& environment, Napi::Env env, Napi::Object exports);

}  // namespace fabric
