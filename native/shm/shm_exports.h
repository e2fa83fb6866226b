// What the shared-memory (shm) part adds to the addon's exports, for a transport between processes of one
// host: sealed memfd memory and its mappings (shmCreate, shmMap, shmUnmap), eventfd doorbells (eventfdCreate,
// eventfdSignal, eventfdDrain), descriptor passing and peer credentials over a Unix socket (sendDescriptors,
// receiveDescriptors, peerCredentials, closeDescriptor) and copies to and from a peer's memory (processRead,
// processWrite, memoryAddress). It watches descriptors with the common part's DescriptorWatcher. Linux only.
#pragma once

#include <napi.h>

namespace fabric {

class Environment;

void RegisterShm(Environment& environment, Napi::Env env, Napi::Object exports);

}  // namespace fabric
