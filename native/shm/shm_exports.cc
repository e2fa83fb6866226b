#include "shm/shm_exports.h"

#include "shm/descriptor_passing.h"
#include "shm/event_fd.h"
#include "shm/process_copy.h"
#include "shm/shm_memory.h"

namespace fabric {

void RegisterShm(Environment&, Napi::Env env, Napi::Object exports) {
  exports.Set("shmCreate", Napi::Function::New(env, ShmCreate));
  exports.Set("shmSize", Napi::Function::New(env, ShmSize));
  exports.Set("shmMap", Napi::Function::New(env, ShmMap));
  exports.Set("shmUnmap", Napi::Function::New(env, ShmUnmap));
  exports.Set("eventfdCreate", Napi::Function::New(env, EventfdCreate));
  exports.Set("eventfdSignal", Napi::Function::New(env, EventfdSignal));
  exports.Set("eventfdDrain", Napi::Function::New(env, EventfdDrain));
  exports.Set("sendDescriptors", Napi::Function::New(env, SendDescriptors));
  exports.Set("receiveDescriptors", Napi::Function::New(env, ReceiveDescriptors));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
  exports.Set("peerHungUp", Napi::Function::New(env, PeerHungUp));
  exports.Set("closeDescriptor", Napi::Function::New(env, CloseDescriptor));
  exports.Set("processRead", Napi::Function::New(env, ProcessRead));
  exports.Set("processWrite", Napi::Function::New(env, ProcessWrite));
  exports.Set("memoryAddress", Napi::Function::New(env, MemoryAddress));
}

}  // namespace fabric
