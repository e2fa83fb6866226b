// What the verbs part adds to the addon's exports: status(), devices() and Endpoint (whose register() makes
// MemoryRegions). Built only with rdma-core's headers (binding.gyp).
#pragma once

#include <napi.h>

namespace fabric {

class Environment;

void RegisterVerbs(Environment& environment, Napi::Env env, Napi::Object exports);

}  // namespace fabric
