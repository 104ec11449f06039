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
// - Helper threads (wait-pool.cc) are process-wide and reused: an idle one parks on a condition
//   variable and exits after 30 s without work. Threads therefore number the distinct words (and
//   expected values) waited on at once, not the waiters.
// - Results come back to each JavaScript thread (main or worker: each has its own state, made when it
//   loads the addon) through one uv_async_t, which is ref'd exactly while that thread has a pending
//   wait that asked to keep it alive (keepAlive, the default): a pending wait keeps the program alive,
//   as a timer does, and is settled, never dropped. keepAlive = false gives Atomics.waitAsync's
//   behaviour instead (the wait alone does not keep the program running).
// Known limit: a waiter that joins a group in the instant its helper re-enters the kernel can miss a
// wake that did not change the word (the kernel sees only the group's check, not the joiner's); every
// primitive of the library changes its word before it wakes, so that wake is never the only signal.
#include <uv.h>

#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "addon.h"
#include "wait-pool.h"

namespace mp {

namespace {

struct Pending {
  v8::Global<v8::Promise::Resolver> resolver;
  bool keep_alive;
};

// One JavaScript thread's side: where its waits' results arrive.
struct ThreadState : WaitSink {
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

  // On a helper thread, with the pool's lock held.
  void Settle(uint64_t id, Outcome outcome) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (!alive) return;
    settled.emplace_back(id, outcome);
    uv_async_send(&async);
  }
};

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
  uint64_t id = thread->next_id++;
  Outcome outcome;
  int error = 0;
  Added added = AddWait(WaitRequest{word.address, expected, timeout, word.store, thread->self, id}, &outcome, &error);
  if (added == Added::kFailed) {
    ThrowSyscall(isolate, "pthread_create", error, "no thread to wait in");
    return;
  }
  v8::Local<v8::Promise::Resolver> resolver = v8::Promise::Resolver::New(context).ToLocalChecked();
  args.GetReturnValue().Set(resolver->GetPromise());
  if (added == Added::kSettledNow) {
    resolver->Resolve(context, Name(isolate, outcome)).Check();
    return;
  }
  thread->pending.emplace(id, Pending{v8::Global<v8::Promise::Resolver>(isolate, resolver), keep_alive});
  if (keep_alive && thread->holding++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&thread->async));
}

// futexWaitCancel(promise) → boolean: the caller gave up on a pending futexWaitAsync (an abort). Its wait
// leaves its group, no longer keeps the program alive, and its promise never settles. False when the
// promise is not a pending wait of this thread (settled already).
void FutexWaitCancel(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  ThreadState* thread = static_cast<ThreadState*>(args.Data().As<v8::External>()->Value());
  for (auto it = thread->pending.begin(); it != thread->pending.end(); ++it) {
    if (it->second.resolver.Get(isolate)->GetPromise() != args[0]) continue;
    // A helper may have settled it already, its outcome not yet delivered: OnSettled skips an unknown id.
    CancelWait(thread, it->first);
    if (it->second.keep_alive && --thread->holding == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&thread->async));
    thread->pending.erase(it);
    args.GetReturnValue().Set(true);
    return;
  }
  args.GetReturnValue().Set(false);
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
  DropSink(thread, !thread->main_thread);
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
  WaitPoolStats stats = PoolStats();
  v8::Local<v8::Object> result = v8::Object::New(isolate);
  auto set = [&](const char* name, size_t value) {
    result->Set(context, v8::String::NewFromUtf8(isolate, name).ToLocalChecked(), v8::Number::New(isolate, value))
        .Check();
  };
  set("helperThreads", stats.helper_threads);
  set("idleHelpers", stats.idle_helpers);
  set("kernelWaits", stats.kernel_waits);
  set("waiters", stats.waiters);
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
  SetFunction(exports, context, "futexWaitCancel", FutexWaitCancel, v8::External::New(isolate, thread.get()));
  SetFunction(exports, context, "asyncWaitStats", AsyncWaitStats);
}

}  // namespace mp
