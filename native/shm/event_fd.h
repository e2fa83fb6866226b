// The shared-memory transport's doorbells: an eventfd that one side signals when it has put something in the
// shared memory, and the other drains once a DescriptorWatcher says it is readable.
#pragma once

#include <napi.h>

namespace fabric {

// eventfdCreate() -> fd of a new non-blocking eventfd (counter 0). Throws an Error where the kernel refuses.
Napi::Value EventfdCreate(const Napi::CallbackInfo& info);

// eventfdSignal(fd) -> 0 or -errno. Adds 1 to the counter; a counter already at its maximum (EAGAIN) counts
// as signalled, since its reader has not drained it yet.
Napi::Value EventfdSignal(const Napi::CallbackInfo& info);

// eventfdDrain(fd) -> the counter, now reset to 0 (0 when it was 0 already), or -errno.
Napi::Value EventfdDrain(const Napi::CallbackInfo& info);

}  // namespace fabric
