#pragma once

#include <napi.h>

namespace fabric {

Napi::Value Devices(const Napi::CallbackInfo& info);

}  // namespace fabric
