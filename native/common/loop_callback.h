// Calling JS from a libuv callback (a watched descriptor became readable): no JS frame is below to take an
// exception, and once a worker is being terminated JS can no longer run at all. node-addon-api's wrappers
// treat both as fatal, so these paths use N-API directly.
#pragma once

#include <node_api.h>

namespace fabric {

// Calls `function`; an exception it throws goes to the process's 'uncaughtException', as for any event
// callback. Where `function` is null (a value could not be made: the environment is ending), calls nothing.
void CallFromLoop(napi_env env, napi_value receiver, napi_value function, size_t argc,
                  const napi_value* argv);

}  // namespace fabric
