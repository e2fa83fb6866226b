#include "common/loop_callback.h"

namespace fabric {

void CallFromLoop(napi_env env, napi_value receiver, napi_value function, size_t argc,
                  const napi_value* argv) {
  if (function == nullptr) return;
  for (size_t i = 0; i < argc; i++) {
    if (argv[i] == nullptr) return;
  }
  napi_value result = nullptr;
  if (napi_make_callback(env, nullptr, receiver, function, argc, argv, &result) == napi_ok) return;
  // Failed: JS threw (rethrown where Node reports uncaught errors), or JS cannot run (nothing is pending).
  bool pending = false;
  napi_value error = nullptr;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &error) == napi_ok) {
    napi_fatal_exception(env, error);
  }
}

}  // namespace fabric
