#include "shm/process_copy.h"

#include <sys/uio.h>

#include <cerrno>
#include <cstdint>

#include "shm/arguments.h"

namespace fabric {

namespace {

Napi::Value Copy(const Napi::CallbackInfo& info, bool write) {
  Napi::Env env = info.Env();
  const char* call =
      write ? "processWrite(pid, local, remoteAddress)" : "processRead(pid, local, remoteAddress)";
  double pid = 0;
  void* data = nullptr;
  size_t length = 0;
  uint64_t remote = 0;
  if (!IntegerArgument(env, info[0], call, "pid", 1, 2147483647, &pid) ||
      !ViewArgument(env, info[1], call, "local", &data, &length) ||
      !AddressArgument(env, info[2], call, "remoteAddress", &remote)) {
    return env.Undefined();
  }
  // The kernel would take an address range that wraps around for a fault; refused the same way here.
  if (length > 0 && remote > UINT64_MAX - (length - 1)) return Napi::Number::New(env, -EFAULT);
  size_t done = 0;
  while (done < length) {
    iovec local_part{static_cast<uint8_t*>(data) + done, length - done};
    iovec remote_part{reinterpret_cast<void*>(static_cast<uintptr_t>(remote + done)), length - done};
    const ssize_t n = write ? process_vm_writev(static_cast<pid_t>(pid), &local_part, 1, &remote_part, 1, 0)
                            : process_vm_readv(static_cast<pid_t>(pid), &local_part, 1, &remote_part, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Napi::Number::New(env, -errno);
    }
    // No progress without an error: the kernel stopped at a page it could not reach.
    if (n == 0) return Napi::Number::New(env, -EFAULT);
    done += static_cast<size_t>(n);
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

}  // namespace

Napi::Value ProcessRead(const Napi::CallbackInfo& info) { return Copy(info, false); }

Napi::Value ProcessWrite(const Napi::CallbackInfo& info) { return Copy(info, true); }

Napi::Value MemoryAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  void* data = nullptr;
  size_t length = 0;
  if (!ViewArgument(env, info[0], "memoryAddress(view)", "view", &data, &length)) return env.Undefined();
  return Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data)));
}

}  // namespace fabric
