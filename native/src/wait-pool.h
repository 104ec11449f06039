// The helper threads that sleep in futex(2) for asynchronous waits, shared by every JavaScript thread of
// the process and by both targets (V8 API and Node-API). Why it is built this way: async-wait.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace mp {

enum class Outcome { kOk, kNotEqual, kTimedOut };
const char* OutcomeName(Outcome outcome);

// Where a wait's outcome goes: one per JavaScript thread. Helper threads call Settle with the pool's
// lock held, so it must be quick and must not call back into the pool.
class WaitSink {
 public:
  virtual ~WaitSink() = default;
  virtual void Settle(uint64_t id, Outcome outcome) = 0;
};

struct WaitRequest {
  int32_t* address;
  int32_t expected;
  double timeout_ms;            // as Atomics.wait reads it, already normalised: >= 0, Infinity for none
  std::shared_ptr<void> keep;   // keeps the word's memory mapped while a helper sleeps on it (may be empty)
  std::shared_ptr<WaitSink> sink;
  uint64_t id;                  // the sink's name for this wait
};

enum class Added { kQueued, kSettledNow, kFailed };

// Checks the word under the pool's lock: a word that differs (or a zero timeout) settles at once, with
// `*outcome` set and no thread involved. Otherwise the wait joins or starts a group and is settled
// later through its sink. kFailed: no helper thread could be started (`*error` is the errno).
Added AddWait(WaitRequest request, Outcome* outcome, int* error);

// The waiter gave up (an abort): its wait is removed and will not be settled. A kernel wait left with
// no waiters is woken so that its helper returns to the pool (a spurious wakeup for the word's other
// waiters, in every process). False if the wait was not pending (settled already).
bool CancelWait(const WaitSink* sink, uint64_t id);

// A JavaScript thread is going away: its waits are dropped. With `give_back`, a kernel wait left with
// no waiters is woken so that its helper returns to the pool (a spurious wakeup for the word's other
// waiters, in every process).
void DropSink(const WaitSink* sink, bool give_back);

struct WaitPoolStats {
  size_t helper_threads, idle_helpers, kernel_waits, waiters;
};
WaitPoolStats PoolStats();

}  // namespace mp
