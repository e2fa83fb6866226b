#include "shm/arguments.h"

#include <cmath>
#include <cstring>
#include <string>

namespace fabric {

namespace {

bool Refuse(Napi::Env env, const char* call, const char* name, const char* expected) {
  Napi::TypeError::New(env, std::string(call) + ": " + name + " must be " + expected)
      .ThrowAsJavaScriptException();
  return false;
}

// Bytes per element; 0 for a kind this code does not know (a newer Node's), which is refused.
size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
  }
  return 0;
}

}  // namespace

bool IntegerArgument(Napi::Env env, Napi::Value value, const char* call, const char* name, double min,
                     double max, double* out) {
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!(number >= min && number <= max && std::floor(number) == number)) {
    const std::string expected = "an integer from " + std::to_string(static_cast<int64_t>(min)) + " to " +
                                 std::to_string(static_cast<int64_t>(max));
    return Refuse(env, call, name, expected.c_str());
  }
  *out = number;
  return true;
}

bool DescriptorArgument(Napi::Env env, Napi::Value value, const char* call, const char* name, int* out) {
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!(number >= INT32_MIN && number <= INT32_MAX && std::floor(number) == number)) {
    return Refuse(env, call, name, "a descriptor number (an integer)");
  }
  *out = static_cast<int>(number);
  return true;
}

bool ViewArgument(Napi::Env env, Napi::Value value, const char* call, const char* name, void** data,
                  size_t* length) {
  // Raw N-API: both report the first byte of the view itself (its offset into the buffer applied).
  bool is_typed_array = false, is_data_view = false;
  napi_is_typedarray(env, value, &is_typed_array);
  if (!is_typed_array) napi_is_dataview(env, value, &is_data_view);
  if (is_typed_array) {
    napi_typedarray_type type{};
    size_t elements = 0;
    if (napi_get_typedarray_info(env, value, &type, &elements, data, nullptr, nullptr) == napi_ok) {
      const size_t element_size = ElementSize(type);
      if (element_size > 0) {
        *length = elements * element_size;
        return true;
      }
    }
  } else if (is_data_view) {
    if (napi_get_dataview_info(env, value, length, data, nullptr, nullptr) == napi_ok) return true;
  }
  return Refuse(env, call, name, "an ArrayBufferView (a TypedArray, a Buffer or a DataView)");
}

bool AddressArgument(Napi::Env env, Napi::Value value, const char* call, const char* name, uint64_t* out) {
  bool lossless = false;
  if (!value.IsBigInt() || napi_get_value_bigint_uint64(env, value, out, &lossless) != napi_ok || !lossless) {
    return Refuse(env, call, name, "a bigint from 0n to 2n ** 64n - 1n (a memory address)");
  }
  return true;
}

void ThrowSystemError(Napi::Env env, const std::string& what, int error, const char* advice) {
  std::string message = what + ": " + std::strerror(error);
  if (advice != nullptr && *advice != '\0') message += std::string(" (") + advice + ")";
  Napi::Error exception = Napi::Error::New(env, message);
  exception.Set("errno", Napi::Number::New(env, error));
  exception.ThrowAsJavaScriptException();
}

}  // namespace fabric
