// Blocking futex(2) wait and wake on a word of shared memory, across processes.
//
// No FUTEX_PRIVATE_FLAG: a private futex is keyed by (process, address), a shared one by what the address
// maps (for a memfd: the file and the offset in it), so a wait in one process is woken by a wake in another
// that maps the same memfd (and even by a wake through a second mapping in the same process). V8's Atomics.wait/notify do neither, and do not
// wake futex(2) waiters either (measured), so every waiter and waker of process-shared words uses these.
#include <cerrno>
#include <climits>
#include <cmath>

#include "addon.h"

namespace mp {

namespace {

void Result(const v8::FunctionCallbackInfo<v8::Value>& args, const char* result) {
  args.GetReturnValue().Set(v8::String::NewFromUtf8(args.GetIsolate(), result).ToLocalChecked());
}

// futexWait(words, index, expected, timeoutMs = Infinity) → 'ok' | 'not-equal' | 'timed-out'.
// Blocks the calling thread (as Atomics.wait does); a signal (EINTR) does not end the wait.
void FutexWaitBinding(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  Word word;
  if (!GetWord(args, 0, &word)) return;
  int32_t expected = args[2]->Int32Value(isolate->GetCurrentContext()).FromMaybe(0);
  int64_t deadline = DeadlineAfter(GetTimeout(args, 3));
  for (;;) {
    if (FutexWaitUntil(word.address, expected, deadline) == 0) return Result(args, "ok");
    switch (errno) {
      case EINTR:
        continue;
      case EAGAIN:
        return Result(args, "not-equal");
      case ETIMEDOUT:
        return Result(args, "timed-out");
      default:
        ThrowSyscall(isolate, "futex(FUTEX_WAIT_BITSET)", errno);
        return;
    }
  }
}

// futexWake(words, index, count = Infinity) → how many waiters woke (in every process).
void FutexWakeBinding(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  Word word;
  if (!GetWord(args, 0, &word)) return;
  double count = args[2]->IsUndefined() ? INFINITY : args[2]->NumberValue(isolate->GetCurrentContext()).FromMaybe(NAN);
  if (std::isnan(count) || count < 0) count = 0;
  int wake = count >= INT_MAX ? INT_MAX : static_cast<int>(count);
  long woken = FutexWake(word.address, wake);
  if (woken < 0) {
    ThrowSyscall(isolate, "futex(FUTEX_WAKE)", errno);
    return;
  }
  args.GetReturnValue().Set(static_cast<double>(woken));
}

}  // namespace

void InitFutex(v8::Local<v8::Object> exports, v8::Local<v8::Context> context) {
  SetFunction(exports, context, "futexWait", FutexWaitBinding);
  SetFunction(exports, context, "futexWake", FutexWakeBinding);
}

}  // namespace mp
