// The descriptors the shm part made or received for JS (memfds, eventfds): JS closes them with
// closeDescriptor(), and whatever is still open when the environment ends (a worker terminated with its
// connections open) is closed then, so that no descriptor outlives the worker that held it.
#pragma once

#include <unordered_set>

#include "common/environment.h"

namespace fabric {

class OwnedDescriptors : public EnvironmentPart {
 public:
  explicit OwnedDescriptors(Environment&) {}
  static OwnedDescriptors& Of(Napi::Env env) { return Environment::Of(env).Get<OwnedDescriptors>(); }
  void Add(int fd) { fds_.insert(fd); }
  // Closes `fd`, owned or not (a descriptor JS got elsewhere): 0 or -errno.
  int Close(int fd);
  void Release() override;

 private:
  std::unordered_set<int> fds_;
};

}  // namespace fabric
