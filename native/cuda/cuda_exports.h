// What the CUDA part adds to the addon's exports: cudaHostRegister and cudaHostUnregister.
#pragma once

#include <napi.h>

namespace fabric {

class Environment;

void RegisterCuda(Environment& environment, Napi::Env env, Napi::Object exports);

}  // namespace fabric
