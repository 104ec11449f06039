#include "futex-core.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

namespace mp {

int64_t MonotonicNow() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

int64_t DeadlineAfter(double timeout_ms) {
  // Past about 100 years a deadline is no deadline (and would overflow the nanosecond count).
  if (!(timeout_ms < 3.0e12)) return kNoDeadline;
  return MonotonicNow() + static_cast<int64_t>(timeout_ms * 1e6);
}

long FutexWaitUntil(int32_t* address, int32_t expected, int64_t deadline) {
  struct timespec at;
  struct timespec* until = nullptr;
  if (deadline != kNoDeadline) {
    at.tv_sec = deadline / 1000000000;
    at.tv_nsec = deadline % 1000000000;
    until = &at;
  }
  // FUTEX_WAIT_BITSET takes an absolute deadline, so a retry after EINTR needs no arithmetic.
  return syscall(SYS_futex, address, FUTEX_WAIT_BITSET, expected, until, nullptr, FUTEX_BITSET_MATCH_ANY);
}

long FutexWake(int32_t* address, int count) { return syscall(SYS_futex, address, FUTEX_WAKE, count, nullptr, nullptr, 0); }

}  // namespace mp
