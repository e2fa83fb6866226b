// Copies between this process's memory and a same-host peer's, by address, without the peer taking part
// (process_vm_readv / process_vm_writev): the shared-memory transport's one-sided reads and writes of
// memory that is not in the shared mapping. The kernel allows it where we may ptrace the peer (the same user,
// and the Yama ptrace_scope setting permitting it); otherwise the calls say -EPERM.
#pragma once

#include <napi.h>

namespace fabric {

// processRead(pid, local, remoteAddress) -> bytes copied into `local` from the peer's memory at
// remoteAddress (all of local), or -errno (-EPERM: not allowed, -ESRCH: no such process, -EFAULT: the
// range is not mapped there), also where some bytes were copied before the failure.
Napi::Value ProcessRead(const Napi::CallbackInfo& info);

// processWrite(pid, local, remoteAddress) -> bytes copied from `local` to the peer's memory at remoteAddress
// (all of local), or -errno as processRead.
Napi::Value ProcessWrite(const Napi::CallbackInfo& info);

// memoryAddress(view) -> bigint: the address of the view's first byte in this process (for the peer's
// processRead and processWrite).
Napi::Value MemoryAddress(const Napi::CallbackInfo& info);

}  // namespace fabric
