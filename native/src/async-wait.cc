// futexWaitAsync: a futex(2) wait that does not block the event loop.
//
// The kernel has no asynchronous futex wait, so some thread must sleep in futex(2). Measured in the
// prototype: a new thread per wait cost 31-33 us even when the word already differed, sometimes stalled
// for milliseconds, and 1,000 pending waits made 1,011 threads. So:
// - The word is checked first, under the pool's lock: a word that already differs settles 'not-equal'
//   with no thread at all.
// - Waiters on the same (address, expected value) share one kernel wait, a "group". One helper thread
//   serves a group; when it wakes, every waiter of the group settles. So a futexWake(…, 1) that wakes the
//   group settles all its waiters: more wakeups than asked, never fewer (a lost wakeup is the bug to
//   avoid; every caller re-checks its condition after a wait, as after a spurious wakeup). A waiter whose
//   deadline is earlier than the group's kernel deadline starts a group of its own, so no kernel wait
//   ever has to be interrupted to honour a deadline.
// - Helper threads are process-wide and reused: an idle one parks on a condition variable and exits
//   after kIdleSeconds without work. Threads therefore number the distinct words (and expected values)
//   waited on at once, not the waiters.
// - Results come back to each JavaScript thread (main or worker: each has its own state, made when it
//   loads the addon) through one uv_async_t, which is ref'd exactly while that thread has a pending
//   wait that asked to keep it alive (keepAlive, the default): a pending wait keeps the program alive,
//   as a timer does, and is settled, never dropped. keepAlive = false gives Atomics.waitAsync's
//   behaviour instead (the wait alone does not keep the program running).
// Known limit: a waiter that joins a group in the instant its helper re-enters the kernel can miss a
// wake that did not change the word (the kernel sees only the group's check, not the joiner's); every
// primitive of the library changes its word before it wakes, so that wake is never the only signal.
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "addon.h"

namespace mp {

namespace {

constexpr int kIdleSeconds = 30;
// Helpers only call futex(2) and take locks: a small stack is plenty.
constexpr size_t kHelperStack = 256 * 1024;

enum class Outcome { kOk, kNotEqual, kTimedOut };

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

struct Pending {
  v8::Global<v8::Promise::Resolver> resolver;
  bool keep_alive;
};

// One JavaScript thread's side: where its waits' results arrive.
struct ThreadState {
  v8::Isolate* isolate = nullptr;
  bool main_thread = false;  // Node's main thread runs on libuv's default loop; each worker has its own
  v8::Global<v8::Context> context;
  v8::Global<v8::Object> resource;
  node::async_context async_context{};
  uv_async_t async{};
  std::shared_ptr<ThreadState> self;  // held until the handle is closed

  std::mutex mutex;  // guards alive and settled, which helper threads touch
  bool alive = true;
  std::vector<std::pair<uint64_t, Outcome>> settled;

  // The JavaScript thread's own.
  std::unordered_map<uint64_t, Pending> pending;
  uint64_t next_id = 1;
  size_t holding = 0;  // pending waits with keep_alive: the handle is ref'd while > 0
};

struct Waiter {
  std::shared_ptr<ThreadState> thread;
  uint64_t id;
  int64_t deadline;
};

// Waiters sharing one kernel wait on (address, expected).
struct Group {
  int32_t* address;
  int32_t expected;
  std::shared_ptr<v8::BackingStore> store;  // the memory stays mapped while the kernel waits on it
  int64_t kernel_deadline;                   // <= every waiter's deadline; joiners must not be earlier
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

// Called with the pool's lock held.
void Deliver(const Waiter& waiter, Outcome outcome) {
  ThreadState& thread = *waiter.thread;
  std::lock_guard<std::mutex> lock(thread.mutex);
  if (!thread.alive) return;
  thread.settled.emplace_back(waiter.id, outcome);
  uv_async_send(&thread.async);
}

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
    int64_t deadline = group->kernel_deadline;
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
          Deliver(waiter, Outcome::kTimedOut);
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
      for (const Waiter& waiter : group->waiters) Deliver(waiter, outcome);
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
  // Signals go to Node's threads, never to a helper (a helper inherits the mask it is created with).
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

v8::Local<v8::String> Name(v8::Isolate* isolate, Outcome outcome) {
  return v8::String::NewFromUtf8(isolate, OutcomeName(outcome)).ToLocalChecked();
}

// futexWaitAsync(words, index, expected, timeoutMs = Infinity, keepAlive = true)
//   → Promise<'ok' | 'not-equal' | 'timed-out'>
void FutexWaitAsync(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  ThreadState* thread = static_cast<ThreadState*>(args.Data().As<v8::External>()->Value());
  Word word;
  if (!GetWord(args, 0, &word)) return;
  int32_t expected = args[2]->Int32Value(context).FromMaybe(0);
  double timeout = GetTimeout(args, 3);
  bool keep_alive = args[4]->IsUndefined() || args[4]->BooleanValue(isolate);
  v8::Local<v8::Promise::Resolver> resolver = v8::Promise::Resolver::New(context).ToLocalChecked();
  args.GetReturnValue().Set(resolver->GetPromise());

  Pool& pool = ThePool();
  std::unique_lock<std::mutex> lock(pool.mutex);
  // Under the pool's lock: a helper that wakes for this word cannot settle its group between this
  // check and this waiter joining it.
  int32_t now = __atomic_load_n(word.address, __ATOMIC_SEQ_CST);
  if (now != expected || timeout == 0) {
    lock.unlock();
    resolver->Resolve(context, Name(isolate, now != expected ? Outcome::kNotEqual : Outcome::kTimedOut)).Check();
    return;
  }
  int64_t deadline = DeadlineAfter(timeout);
  Key key{reinterpret_cast<uintptr_t>(word.address), expected};
  Group* group = nullptr;
  auto range = pool.groups.equal_range(key);
  for (auto it = range.first; it != range.second && group == nullptr; ++it) {
    if (it->second->kernel_deadline <= deadline) group = it->second;
  }
  if (group == nullptr) {
    group = new Group{word.address, expected, word.store, deadline, {}};
    if (pool.queue.size() + 1 > pool.idle) {
      int error = StartHelper(pool);
      if (error != 0) {
        delete group;
        lock.unlock();
        ThrowSyscall(isolate, "pthread_create", error, "no thread to wait in");
        return;
      }
    }
    pool.groups.emplace(key, group);
    pool.queue.push_back(group);
    pool.work.notify_one();
  }
  uint64_t id = thread->next_id++;
  group->waiters.push_back(Waiter{thread->self, id, deadline});
  lock.unlock();
  thread->pending.emplace(id, Pending{v8::Global<v8::Promise::Resolver>(isolate, resolver), keep_alive});
  if (keep_alive && thread->holding++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&thread->async));
}

// On the JavaScript thread: resolves the promises whose waits helpers have settled.
void OnSettled(uv_async_t* handle) {
  ThreadState* thread = static_cast<ThreadState*>(handle->data);
  std::vector<std::pair<uint64_t, Outcome>> batch;
  {
    std::lock_guard<std::mutex> lock(thread->mutex);
    batch.swap(thread->settled);
  }
  if (batch.empty()) return;
  v8::Isolate* isolate = thread->isolate;
  v8::HandleScope handles(isolate);
  v8::Local<v8::Context> context = thread->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  // Runs process.nextTick callbacks and microtasks when it closes, as any callback from Node does.
  node::CallbackScope callback(isolate, thread->resource.Get(isolate), thread->async_context);
  for (const auto& [id, outcome] : batch) {
    auto found = thread->pending.find(id);
    if (found == thread->pending.end()) continue;
    v8::Local<v8::Promise::Resolver> resolver = found->second.resolver.Get(isolate);
    if (found->second.keep_alive && --thread->holding == 0) uv_unref(reinterpret_cast<uv_handle_t*>(handle));
    thread->pending.erase(found);
    if (resolver->Resolve(context, Name(isolate, outcome)).IsNothing()) return;  // the thread is terminating
  }
}

// The JavaScript thread is going away (a worker ends, or the program exits): nothing more is delivered to
// it. When a worker ends, a kernel wait that only its waiters shared is woken so that its helper goes
// back to the pool; that wake also reaches the word's other waiters, in every process, as a spurious
// wakeup (which every waiter tolerates). When the program exits, its helpers end with it: no wake, so a
// process that exits with waits pending never disturbs the waiters of other processes.
void OnThreadCleanup(void* data) {
  ThreadState* thread = static_cast<ThreadState*>(data);
  {
    std::lock_guard<std::mutex> lock(thread->mutex);
    thread->alive = false;
    thread->settled.clear();
  }
  {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    for (auto& [key, group] : pool.groups) {
      auto& waiters = group->waiters;
      size_t before = waiters.size();
      waiters.erase(std::remove_if(waiters.begin(), waiters.end(),
                                   [&](const Waiter& waiter) { return waiter.thread.get() == thread; }),
                    waiters.end());
      if (!thread->main_thread && before > 0 && waiters.empty()) syscall(SYS_futex, group->address, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
    }
  }
  thread->pending.clear();
  thread->context.Reset();
  thread->resource.Reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&thread->async),
           [](uv_handle_t* handle) { static_cast<ThreadState*>(handle->data)->self.reset(); });
}

// asyncWaitStats() → { helperThreads, idleHelpers, kernelWaits, waiters }: for tests and diagnostics.
void AsyncWaitStats(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  size_t threads, idle, groups, waiters = 0;
  {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> lock(pool.mutex);
    threads = pool.threads;
    idle = pool.idle;
    groups = pool.groups.size();
    for (const auto& entry : pool.groups) waiters += entry.second->waiters.size();
  }
  v8::Local<v8::Object> result = v8::Object::New(isolate);
  auto set = [&](const char* name, size_t value) {
    result->Set(context, v8::String::NewFromUtf8(isolate, name).ToLocalChecked(), v8::Number::New(isolate, value))
        .Check();
  };
  set("helperThreads", threads);
  set("idleHelpers", idle);
  set("kernelWaits", groups);
  set("waiters", waiters);
  args.GetReturnValue().Set(result);
}

}  // namespace

void InitAsyncWait(v8::Local<v8::Object> exports, v8::Local<v8::Context> context) {
  v8::Isolate* isolate = context->GetIsolate();
  auto thread = std::make_shared<ThreadState>();
  thread->self = thread;
  thread->isolate = isolate;
  thread->main_thread = node::GetCurrentEventLoop(isolate) == uv_default_loop();
  thread->context.Reset(isolate, context);
  v8::Local<v8::Object> resource = v8::Object::New(isolate);
  thread->resource.Reset(isolate, resource);
  thread->async_context = node::EmitAsyncInit(isolate, resource, "MULTIPROCESSING_FUTEX_WAIT");
  uv_async_init(node::GetCurrentEventLoop(isolate), &thread->async, OnSettled);
  thread->async.data = thread.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(&thread->async));
  node::AddEnvironmentCleanupHook(isolate, OnThreadCleanup, thread.get());
  SetFunction(exports, context, "futexWaitAsync", FutexWaitAsync, v8::External::New(isolate, thread.get()));
  SetFunction(exports, context, "asyncWaitStats", AsyncWaitStats);
}

}  // namespace mp
