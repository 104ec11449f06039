// futex(2) with absolute deadlines: what every part of the addon (either target) waits with. No V8 or
// Node-API here, so both targets compile it.
#pragma once

#include <cstdint>

namespace mp {

// Nanoseconds on CLOCK_MONOTONIC, the clock futex(2) deadlines are measured on.
int64_t MonotonicNow();
constexpr int64_t kNoDeadline = INT64_MAX;
// now + timeout (ms) in ns, or kNoDeadline for an infinite (or absurdly long) timeout.
int64_t DeadlineAfter(double timeout_ms);
// FUTEX_WAIT_BITSET on a shared (not PRIVATE) word with an absolute CLOCK_MONOTONIC deadline: 0 when
// woken, else -1 with errno (EAGAIN: the word differed; ETIMEDOUT; EINTR).
long FutexWaitUntil(int32_t* address, int32_t expected, int64_t deadline);
// FUTEX_WAKE (shared): how many woke, or -1 with errno.
long FutexWake(int32_t* address, int count);

}  // namespace mp
