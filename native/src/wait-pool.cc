// The pool of helper threads behind futexWaitAsync (both targets). The design and its reasons are in
// async-wait.cc's header; this file is the mechanism: groups of waiters that share one kernel wait on
// (address, expected), and reused helper threads that sleep in futex(2) for them.
#include "wait-pool.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "futex-core.h"

namespace mp {

namespace {

constexpr int kIdleSeconds = 30;
// The longest a helper sleeps in the kernel before it looks at its group again. A cancelled wait wakes
// its group's kernel wait so that the helper goes back to the pool, but that wake is lost if it lands
// before the helper has entered futex(2); the helper then finds its group empty at the latest this long
// after.
constexpr int64_t kLongestKernelSleepNs = int64_t{kIdleSeconds} * 1000 * 1000 * 1000;
// Helpers only call futex(2) and take locks: a small stack is plenty.
constexpr size_t kHelperStack = 256 * 1024;

struct Waiter {
  std::shared_ptr<WaitSink> sink;
  uint64_t id;
  int64_t deadline;
};

// Waiters sharing one kernel wait on (address, expected).
struct Group {
  int32_t* address;
  int32_t expected;
  std::shared_ptr<void> keep;  // the memory stays mapped while the kernel waits on it
  int64_t kernel_deadline;     // <= every waiter's deadline; joiners must not be earlier
  std::vector<Waiter> waiters;
};

using Key = std::pair<uintptr_t, int32_t>;

struct Pool {
  std::mutex mutex;
  std::condition_variable work;
  std::multimap<Key, Group*> groups;  // every live group
  std::deque<Group*> queue;           // groups no helper has taken yet
  size_t idle = 0;
  size_t threads = 0;
};

// Never destroyed: detached helpers may still run while static destructors do at exit.
Pool& ThePool() {
  static Pool* pool = new Pool();
  return *pool;
}

Key KeyOf(const Group* group) { return {reinterpret_cast<uintptr_t>(group->address), group->expected}; }

void Forget(Pool& pool, Group* group) {
  auto range = pool.groups.equal_range(KeyOf(group));
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == group) {
      pool.groups.erase(it);
      break;
    }
  }
  delete group;
}

// Sleeps in the kernel for `group` until all its waiters are settled. Called and returns with `lock` held.
void Serve(Pool& pool, Group* group, std::unique_lock<std::mutex>& lock) {
  while (!group->waiters.empty()) {
    int64_t deadline = std::min(group->kernel_deadline, MonotonicNow() + kLongestKernelSleepNs);
    lock.unlock();
    long woken;
    int error;
    do {
      woken = FutexWaitUntil(group->address, group->expected, deadline);
      error = errno;
    } while (woken != 0 && error == EINTR);
    lock.lock();
    if (woken != 0 && error == ETIMEDOUT) {
      int64_t now = MonotonicNow();
      int64_t next = kNoDeadline;
      std::vector<Waiter> remaining;
      for (Waiter& waiter : group->waiters) {
        if (waiter.deadline <= now) {
          waiter.sink->Settle(waiter.id, Outcome::kTimedOut);
        } else {
          next = std::min(next, waiter.deadline);
          remaining.push_back(std::move(waiter));
        }
      }
      group->waiters.swap(remaining);
      group->kernel_deadline = next;
    } else {
      // Woken, or the word differed. Any other error (none is expected) counts as a spurious wakeup.
      Outcome outcome = woken != 0 && error == EAGAIN ? Outcome::kNotEqual : Outcome::kOk;
      for (const Waiter& waiter : group->waiters) waiter.sink->Settle(waiter.id, outcome);
      group->waiters.clear();
    }
  }
  Forget(pool, group);
}

void* HelperMain(void*) {
  Pool& pool = ThePool();
  std::unique_lock<std::mutex> lock(pool.mutex);
  for (;;) {
    while (pool.queue.empty()) {
      ++pool.idle;
      bool got = pool.work.wait_for(lock, std::chrono::seconds(kIdleSeconds), [&] { return !pool.queue.empty(); });
      --pool.idle;
      if (!got) {
        --pool.threads;
        return nullptr;
      }
    }
    Group* group = pool.queue.front();
    pool.queue.pop_front();
    Serve(pool, group, lock);
  }
}

// Starts one more helper; with the pool's lock held. Returns 0 or an errno.
int StartHelper(Pool& pool) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attributes, kHelperStack);
  // Signals go to the runtime's threads, never to a helper (a helper inherits the mask it is created with).
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  int error = pthread_create(&thread, &attributes, HelperMain, nullptr);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  pthread_attr_destroy(&attributes);
  if (error == 0) ++pool.threads;
  return error;
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kNotEqual:
      return "not-equal";
    default:
      return "timed-out";
  }
}

Added AddWait(WaitRequest request, Outcome* outcome, int* error) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  // Under the pool's lock: a helper that wakes for this word cannot settle its group between this
  // check and this waiter joining it.
  if (__atomic_load_n(request.address, __ATOMIC_SEQ_CST) != request.expected) {
    *outcome = Outcome::kNotEqual;
    return Added::kSettledNow;
  }
  if (request.timeout_ms == 0) {
    *outcome = Outcome::kTimedOut;
    return Added::kSettledNow;
  }
  int64_t deadline = DeadlineAfter(request.timeout_ms);
  Key key{reinterpret_cast<uintptr_t>(request.address), request.expected};
  Group* group = nullptr;
  auto range = pool.groups.equal_range(key);
  for (auto it = range.first; it != range.second && group == nullptr; ++it) {
    if (it->second->kernel_deadline <= deadline) group = it->second;
  }
  if (group == nullptr) {
    if (pool.queue.size() + 1 > pool.idle) {
      *error = StartHelper(pool);
      if (*error != 0) return Added::kFailed;
    }
    group = new Group{request.address, request.expected, std::move(request.keep), deadline, {}};
    pool.groups.emplace(key, group);
    pool.queue.push_back(group);
    pool.work.notify_one();
  }
  group->waiters.push_back(Waiter{std::move(request.sink), request.id, deadline});
  return Added::kQueued;
}

bool CancelWait(const WaitSink* sink, uint64_t id) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  for (auto& [key, group] : pool.groups) {
    auto& waiters = group->waiters;
    auto found = std::find_if(waiters.begin(), waiters.end(),
                              [&](const Waiter& waiter) { return waiter.sink.get() == sink && waiter.id == id; });
    if (found == waiters.end()) continue;
    waiters.erase(found);
    if (!waiters.empty()) return true;
    auto queued = std::find(pool.queue.begin(), pool.queue.end(), group);
    if (queued != pool.queue.end()) {
      // No helper has taken it yet: it never reaches the kernel.
      pool.queue.erase(queued);
      Forget(pool, group);
    } else {
      FutexWake(group->address, INT_MAX);
    }
    return true;
  }
  return false;
}

void DropSink(const WaitSink* sink, bool give_back) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  for (auto& [key, group] : pool.groups) {
    auto& waiters = group->waiters;
    size_t before = waiters.size();
    waiters.erase(
        std::remove_if(waiters.begin(), waiters.end(), [&](const Waiter& waiter) { return waiter.sink.get() == sink; }),
        waiters.end());
    if (give_back && before > 0 && waiters.empty()) FutexWake(group->address, INT_MAX);
  }
}

WaitPoolStats PoolStats() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  WaitPoolStats stats{pool.threads, pool.idle, pool.groups.size(), 0};
  for (const auto& entry : pool.groups) stats.waiters += entry.second->waiters.size();
  return stats;
}

}  // namespace mp
