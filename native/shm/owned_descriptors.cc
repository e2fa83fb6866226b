#include "shm/owned_descriptors.h"

#include <unistd.h>

#include <cerrno>

namespace fabric {

int OwnedDescriptors::Close(int fd) {
  fds_.erase(fd);
  // On Linux the descriptor is closed even when close() reports EINTR: retrying could close another.
  if (close(fd) != 0 && errno != EINTR) return -errno;
  return 0;
}

void OwnedDescriptors::Release() {
  for (const int fd : fds_) close(fd);
  fds_.clear();
}

}  // namespace fabric
