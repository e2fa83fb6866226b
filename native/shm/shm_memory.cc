#include "shm/shm_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <unordered_map>

#include "common/environment.h"
#include "shm/arguments.h"
#include "shm/owned_descriptors.h"

namespace fabric {

namespace {

constexpr double kMaxBytes = 9007199254740991;  // Number.MAX_SAFE_INTEGER

// One mapping, from shmMap until its ArrayBuffer is finalized. It is unmapped by shmUnmap, by the finalizer,
// or when the environment ends (JS can no longer touch it then), whichever comes first, once.
class Mapping;

// The mappings of one environment by address, for shmUnmap to find the one behind an ArrayBuffer.
class Mappings : public EnvironmentPart {
 public:
  explicit Mappings(Environment&) {}
  void Release() override { by_address_.clear(); }
  std::unordered_map<void*, Mapping*> by_address_;
};

class Mapping : public Resource {
 public:
  Mapping(Environment& environment, void* address, size_t length)
      : Resource(environment), address_(address), length_(length) {
    environment.Get<Mappings>().by_address_[address] = this;
  }
  ~Mapping() override { Release(); }

  void Release() override {
    if (address_ == nullptr) return;
    // After the environment's end its parts are gone with it; environment() is then null.
    if (environment() != nullptr) environment()->Get<Mappings>().by_address_.erase(address_);
    munmap(address_, length_);
    address_ = nullptr;
  }

  size_t length() const { return length_; }

  static Mapping* Find(Environment& environment, void* address) {
    auto& by_address = environment.Get<Mappings>().by_address_;
    const auto found = by_address.find(address);
    return found == by_address.end() ? nullptr : found->second;
  }

  // The ArrayBuffer's finalizer: after shmUnmap or the environment's end there is nothing left to unmap.
  static void Finalize(napi_env, void*, void* hint) { delete static_cast<Mapping*>(hint); }

 private:
  void* address_;
  size_t length_;
};

const char* Advice(int error) {
  switch (error) {
    case EMFILE:
    case ENFILE:
      return "too many open descriptors: close some, or raise the limit with `ulimit -n`";
    case ENOMEM:
    case ENOSPC:
    case EFBIG:
      return "not enough memory for that size: ask for less, or free memory";
    case ENOSYS:
      return "memfd_create needs Linux 3.17 or newer";
    case EBADF:
      return "the descriptor is not open";
    default:
      return nullptr;
  }
}

}  // namespace

Napi::Value ShmCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double bytes = 0;
  if (!IntegerArgument(env, info[0], "shmCreate(bytes)", "bytes", 1, kMaxBytes, &bytes)) {
    return env.Undefined();
  }
  const int fd = memfd_create("fabric-transport", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    const int error = errno;
    ThrowSystemError(env, "shmCreate: memfd_create failed", error, Advice(error));
    return env.Undefined();
  }
  const char* failed = nullptr;
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    failed = "shmCreate: ftruncate to the size failed";
  } else if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    failed = "shmCreate: sealing the memfd (F_ADD_SEALS) failed";
  }
  if (failed != nullptr) {
    const int error = errno;
    close(fd);
    ThrowSystemError(env, failed, error, Advice(error));
    return env.Undefined();
  }
  OwnedDescriptors::Of(env).Add(fd);
  return Napi::Number::New(env, fd);
}

Napi::Value ShmSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  if (!DescriptorArgument(env, info[0], "shmSize(fd)", "fd", &fd)) return env.Undefined();
  // lseek rather than fstat, whose symbol needs glibc 2.33.
  const off_t size = lseek(fd, 0, SEEK_END);
  return Napi::Number::New(env, size < 0 ? -errno : static_cast<double>(size));
}

Napi::Value ShmMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = -1;
  double bytes = 0;
  if (!DescriptorArgument(env, info[0], "shmMap(fd, bytes)", "fd", &fd) ||
      !IntegerArgument(env, info[1], "shmMap(fd, bytes)", "bytes", 1, kMaxBytes, &bytes)) {
    return env.Undefined();
  }
  // The seals first: once it is sealed against shrinking, the size read next can only grow.
  const int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) {
    const int error = errno;
    if (error == EINVAL) {
      ThrowSystemError(env, "shmMap: the descriptor is not a memfd (F_GET_SEALS failed)", error,
                       "map only descriptors made by shmCreate");
    } else {
      ThrowSystemError(env, "shmMap: F_GET_SEALS failed", error, Advice(error));
    }
    return env.Undefined();
  }
  if ((seals & F_SEAL_SHRINK) == 0) {
    Napi::Error::New(env,
                     "shmMap: the memfd is not sealed against shrinking (F_SEAL_SHRINK): its owner could "
                     "truncate it under the mapping; map only memory made by shmCreate")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // lseek rather than fstat, whose symbol needs glibc 2.33.
  const off_t size = lseek(fd, 0, SEEK_END);
  if (size < 0) {
    const int error = errno;
    ThrowSystemError(env, "shmMap: lseek failed", error, Advice(error));
    return env.Undefined();
  }
  if (static_cast<double>(size) != bytes) {
    Napi::Error::New(env, "shmMap: the memfd holds " + std::to_string(size) + " bytes, not the " +
                              std::to_string(static_cast<int64_t>(bytes)) +
                              " expected: map it with the size it was made with")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t length = static_cast<size_t>(bytes);
  void* address = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) {
    const int error = errno;
    ThrowSystemError(env, "shmMap: mmap failed", error,
                     error == EPERM || error == EACCES
                         ? "the memfd is sealed against writes or not open for reading and writing"
                         : Advice(error));
    return env.Undefined();
  }
  auto* mapping = new Mapping(Environment::Of(env), address, length);
  napi_value buffer = nullptr;
  const napi_status status_made =
      napi_create_external_arraybuffer(env, address, length, Mapping::Finalize, mapping, &buffer);
  if (status_made != napi_ok) {
    delete mapping;
    if (!env.IsExceptionPending()) {
      Napi::Error::New(env,
                       "shmMap: this Node.js cannot make an ArrayBuffer over outside memory (external "
                       "buffers are disallowed): use a Node.js build without the V8 sandbox")
          .ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }
  return Napi::Value(env, buffer);
}

Napi::Value ShmUnmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "shmUnmap(buffer): buffer must be an ArrayBuffer from shmMap")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  // Detached already (unmapped before): nothing left to do.
  if (buffer.IsDetached() || buffer.ByteLength() == 0) return env.Undefined();
  Mapping* mapping = Mapping::Find(Environment::Of(env), buffer.Data());
  if (mapping == nullptr || mapping->length() != buffer.ByteLength()) {
    Napi::TypeError::New(env, "shmUnmap(buffer): buffer must be an ArrayBuffer from shmMap")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Detached before the memory goes, so that no view can reach it afterwards.
  if (napi_detach_arraybuffer(env, buffer) != napi_ok) {
    if (!env.IsExceptionPending()) {
      Napi::Error::New(env, "shmUnmap: the ArrayBuffer cannot be detached, so the memory stays mapped")
          .ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }
  // The Mapping itself stays until the finalizer deletes it; unmapped now, it unmaps nothing then.
  mapping->Release();
  return env.Undefined();
}

}  // namespace fabric
