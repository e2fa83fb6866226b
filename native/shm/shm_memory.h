// The shared-memory transport's memory: a sealed memfd that one process makes and passes to its peer
// (shmCreate), and mappings of it, the peer's included, as external ArrayBuffers (shmMap, shmUnmap).
#pragma once

#include <napi.h>

namespace fabric {

// shmCreate(bytes) -> fd of a new memfd of `bytes`, sealed against shrinking, growing and further seals.
// Throws an Error where the kernel refuses.
Napi::Value ShmCreate(const Napi::CallbackInfo& info);

// shmSize(fd) -> the bytes the descriptor's file holds (fstat), or -errno: what a peer's memfd claims to be,
// to check before mapping it.
Napi::Value ShmSize(const Napi::CallbackInfo& info);

// shmMap(fd, bytes) -> ArrayBuffer over a shared, writable mapping of the whole memfd. The fd may come from
// an untrusted peer: it must be exactly `bytes` long and sealed against shrinking (a peer that could truncate
// it would make our accesses fault with SIGBUS); otherwise it throws an Error that says which.
Napi::Value ShmMap(const Napi::CallbackInfo& info);

// shmUnmap(buffer) -> undefined. Detaches an ArrayBuffer from shmMap (its byteLength becomes 0) and unmaps
// the memory now, rather than once the buffer is collected; again on the same buffer, it does nothing.
Napi::Value ShmUnmap(const Napi::CallbackInfo& info);

}  // namespace fabric
