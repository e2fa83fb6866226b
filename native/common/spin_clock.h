// The end of a busy-poll ('spin' and 'hybrid' poll modes), on the monotonic clock (a vDSO call, no syscall).
#pragma once

#include <ctime>

namespace fabric {

class SpinDeadline {
 public:
  explicit SpinDeadline(double micros) : end_ns_(Now() + static_cast<long long>(micros * 1000)) {}
  bool Passed() const { return Now() >= end_ns_; }

 private:
  static long long Now() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000000LL + now.tv_nsec;
  }
  long long end_ns_;
};

}  // namespace fabric
