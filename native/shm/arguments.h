// Checks of the shared-memory part's arguments. Each returns false with a TypeError pending that names the
// call and the argument, so that a wrong argument from JS is refused rather than read as something else.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace fabric {

// A descriptor number: an integer in int32's range (a negative one reaches the kernel, which says EBADF).
bool DescriptorArgument(Napi::Env env, Napi::Value value, const char* call, const char* name, int* out);

// An integer from `min` to `max` (both at most Number.MAX_SAFE_INTEGER).
bool IntegerArgument(Napi::Env env, Napi::Value value, const char* call, const char* name, double min,
                     double max, double* out);

// An ArrayBufferView (a TypedArray, a Buffer or a DataView): its first byte and its length in bytes.
bool ViewArgument(Napi::Env env, Napi::Value value, const char* call, const char* name, void** data,
                  size_t* length);

// A bigint from 0 to 2^64 - 1.
bool AddressArgument(Napi::Env env, Napi::Value value, const char* call, const char* name, uint64_t* out);

// Throws an Error (with `errno` set) whose message says what failed, why, and `advice`.
void ThrowSystemError(Napi::Env env, const std::string& what, int error, const char* advice);

}  // namespace fabric
