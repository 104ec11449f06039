// The Node-API target: the same functions as the V8-API target (addon.cc and its parts), built once
// for every Node-API runtime (Node, Bun) instead of once per V8 ABI.
//
// A SharedArrayBuffer over our own memory needs node_api_create_external_sharedarraybuffer, which only
// Node >= 24.16 / 26.1 and Bun have. It is looked up with dlsym when the addon loads, so one binary,
// built with any Node's headers, uses it where it exists. Where it does not (Node 20 and 22, Deno),
// `sharedArrayBuffers` is false and createSegment/mapSegment refuse: an ArrayBuffer over the segment would
// be copied by postMessage and refused by Atomics.wait (measured), so it would not be shared memory.
// The futex functions and fd passing work everywhere.
//
// Differences from the V8 target, both forced by Node-API:
// - Results reach the JavaScript thread through a napi_threadsafe_function (ref'd exactly while a wait
//   with keepAlive is pending), not a uv_async_t.
// - A pending wait holds a reference to its Int32Array, not the memory's backing store, so the memory
//   stays mapped while the wait is pending. When a worker ends with waits pending, its kernel waits are
//   not woken (the memory may be gone by then): their helpers return to the pool at the word's next wake.
#include <dlfcn.h>
#define NAPI_VERSION 8
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "fd-core.h"
#include "futex-core.h"
#include "parent-death.h"
#include "stay-loaded.h"
#include "wait-pool.h"

namespace mp {

namespace {

using FinalizeNoEnv = void (*)(void* data, void* hint);
using CreateExternalSab = napi_status (*)(napi_env, void*, size_t, FinalizeNoEnv, void*, napi_value*);

CreateExternalSab FindCreateExternalSab() {
  return reinterpret_cast<CreateExternalSab>(dlsym(RTLD_DEFAULT, "node_api_create_external_sharedarraybuffer"));
}

// Throws `new ctor(message)` with `code`; returns nullptr so a binding can `return Throw…(…)`.
napi_value ThrowCoded(napi_env env, const char* kind, const char* code, const std::string& message) {
  if (std::strcmp(kind, "TypeError") == 0) napi_throw_type_error(env, code, message.c_str());
  else if (std::strcmp(kind, "RangeError") == 0) napi_throw_range_error(env, code, message.c_str());
  else napi_throw_error(env, code, message.c_str());
  return nullptr;
}

napi_value Throw(napi_env env, const OsError& error) {
  std::string message = std::string(error.syscall) + " failed: " + strerror(error.err);
  if (error.hint[0] != '\0') message += std::string(" (") + error.hint + ")";
  napi_value text, code, object, syscall, err;
  napi_create_string_utf8(env, message.c_str(), NAPI_AUTO_LENGTH, &text);
  napi_create_string_utf8(env, "ERR_MP_SYSCALL", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, text, &object);
  napi_create_string_utf8(env, error.syscall, NAPI_AUTO_LENGTH, &syscall);
  napi_create_int32(env, error.err, &err);
  napi_set_named_property(env, object, "syscall", syscall);
  napi_set_named_property(env, object, "errno", err);
  napi_throw(env, object);
  return nullptr;
}

struct Args {
  size_t count = 6;
  napi_value values[6];
  void* data = nullptr;
  Args(napi_env env, napi_callback_info info) { napi_get_cb_info(env, info, &count, values, nullptr, &data); }
  napi_value operator[](size_t at) const { return values[at]; }
};

napi_valuetype TypeOf(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  if (value != nullptr) napi_typeof(env, value, &type);
  return type;
}

double NumberOr(napi_env env, napi_value value, double otherwise) {
  double number;
  if (TypeOf(env, value) != napi_number || napi_get_value_double(env, value, &number) != napi_ok) return otherwise;
  return number;
}

bool GetFd(napi_env env, napi_value value, const char* name, int* fd) {
  double number = NumberOr(env, value, NAN);
  if (!(number >= 0) || number != std::floor(number) || number > INT32_MAX) {
    ThrowCoded(env, "TypeError", "ERR_MP_INVALID_ARG", std::string(name) + " must be a file descriptor (an integer >= 0)");
    return false;
  }
  *fd = static_cast<int>(number);
  return true;
}

bool GetLength(napi_env env, napi_value value, const char* name, size_t* length) {
  double number = NumberOr(env, value, NAN);
  if (!(number >= 0) || number != std::floor(number) || number > 9007199254740991.0) {
    ThrowCoded(env, "RangeError", "ERR_MP_INVALID_ARG", std::string(name) + " must be a whole number of bytes >= 0");
    return false;
  }
  *length = static_cast<size_t>(number);
  return true;
}

// values[at]: an Int32Array over a SharedArrayBuffer; values[at + 1]: an index inside it.
bool GetWord(napi_env env, const Args& args, size_t at, int32_t** address) {
  bool is_typed = false;
  napi_is_typedarray(env, args[at], &is_typed);
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (!is_typed || napi_get_typedarray_info(env, args[at], &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_int32_array) {
    ThrowCoded(env, "TypeError", "ERR_MP_INVALID_ARG", "the words must be an Int32Array over a SharedArrayBuffer");
    return false;
  }
  // Node-API has no portable "is this a SharedArrayBuffer" before Node 24.9; a plain ArrayBuffer says so.
  bool plain = false;
  napi_is_arraybuffer(env, buffer, &plain);
  if (plain) {
    ThrowCoded(env, "TypeError", "ERR_MP_INVALID_ARG",
               "the words must be an Int32Array over a SharedArrayBuffer, not over an ArrayBuffer: futex waits are for shared memory");
    return false;
  }
  double index = NumberOr(env, args[at + 1], NAN);
  if (!(index >= 0) || index != std::floor(index) || index >= static_cast<double>(length)) {
    ThrowCoded(env, "RangeError", "ERR_MP_INVALID_ARG",
               "the index must be an integer from 0 to " + std::to_string(length) + " (the array's length) exclusive");
    return false;
  }
  *address = static_cast<int32_t*>(data) + static_cast<size_t>(index);
  return true;
}

double GetTimeout(napi_env env, napi_value value) {
  if (TypeOf(env, value) == napi_undefined) return INFINITY;
  napi_value number;
  double timeout = NAN;
  if (napi_coerce_to_number(env, value, &number) == napi_ok) napi_get_value_double(env, number, &timeout);
  if (std::isnan(timeout)) return INFINITY;
  return timeout < 0 ? 0 : timeout;
}

int32_t GetInt32(napi_env env, napi_value value) {
  napi_value number;
  int32_t result = 0;
  if (napi_coerce_to_number(env, value, &number) == napi_ok) napi_get_value_int32(env, number, &result);
  return result;
}

napi_value String(napi_env env, const char* text) {
  napi_value result;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result);
  return result;
}

napi_value Number(napi_env env, double value) {
  napi_value result;
  napi_create_double(env, value, &result);
  return result;
}

// ---- segments ---------------------------------------------------------------------------------------

void UnmapNoEnv(void* data, void* hint) { Unmap(data, reinterpret_cast<size_t>(hint)); }

napi_value MapAsBuffer(napi_env env, int fd, size_t length, size_t offset = 0) {
  CreateExternalSab create = FindCreateExternalSab();
  if (create == nullptr) {
    return ThrowCoded(env, "Error", "ERR_MP_UNSUPPORTED",
                      "this runtime's Node-API cannot make a SharedArrayBuffer over shared memory "
                      "(node_api_create_external_sharedarraybuffer: Node >= 24.16 or 26.1, Bun); on older Node, "
                      "use the V8-API build of the addon, or getContext('thread')");
  }
  void* data = nullptr;
  if (length > 0) {
    if (OsError error = MapShared(fd, length, &data, offset)) return Throw(env, error);
  }
  napi_value buffer;
  if (create(env, data, length, length > 0 ? UnmapNoEnv : nullptr, reinterpret_cast<void*>(length), &buffer) != napi_ok) {
    if (length > 0) Unmap(data, length);
    return ThrowCoded(env, "Error", "ERR_MP_UNSUPPORTED", "node_api_create_external_sharedarraybuffer refused the segment");
  }
  return buffer;
}

napi_value CreateSegment(napi_env env, napi_callback_info info) {
  Args args(env, info);
  size_t length;
  if (!GetLength(env, args[0], "byteLength", &length)) return nullptr;
  char name[201] = "multiprocessing";
  if (TypeOf(env, args[1]) == napi_string) napi_get_value_string_utf8(env, args[1], name, sizeof name, nullptr);
  if (FindCreateExternalSab() == nullptr) return MapAsBuffer(env, -1, length);  // refuses, before making an fd
  int fd;
  if (OsError error = CreateMemfd(name, length, &fd)) return Throw(env, error);
  napi_value buffer = MapAsBuffer(env, fd, length);
  if (buffer == nullptr) {
    CloseFd(fd);
    return nullptr;
  }
  napi_value result, fd_value;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &fd_value);
  napi_set_named_property(env, result, "fd", fd_value);
  napi_set_named_property(env, result, "buffer", buffer);
  return result;
}

napi_value MapSegment(napi_env env, napi_callback_info info) {
  Args args(env, info);
  int fd;
  if (!GetFd(env, args[0], "fd", &fd)) return nullptr;
  size_t size;
  if (OsError error = SegmentSize(fd, &size)) return Throw(env, error);
  size_t offset = 0;
  if (TypeOf(env, args[2]) != napi_undefined && !GetLength(env, args[2], "offset", &offset)) return nullptr;
  if (offset % PageSize() != 0) {
    return ThrowCoded(env, "RangeError", "ERR_MP_INVALID_ARG",
                      "offset " + std::to_string(offset) + " is not a multiple of the page size (" + std::to_string(PageSize()) + ")");
  }
  size_t length = offset <= size ? size - offset : 0;
  if (TypeOf(env, args[1]) != napi_undefined && !GetLength(env, args[1], "byteLength", &length)) return nullptr;
  if (offset > size || length > size - offset) {
    return ThrowCoded(env, "RangeError", "ERR_MP_INVALID_ARG",
                      "offset " + std::to_string(offset) + " + byteLength " + std::to_string(length) +
                          " is larger than the segment (" + std::to_string(size) + " bytes)");
  }
  return MapAsBuffer(env, fd, length, offset);
}

napi_value CloseFdBinding(napi_env env, napi_callback_info info) {
  Args args(env, info);
  int fd;
  if (!GetFd(env, args[0], "fd", &fd)) return nullptr;
  if (OsError error = CloseFd(fd)) return Throw(env, error);
  return nullptr;
}

napi_value DieWithParentBinding(napi_env env, napi_callback_info info) {
  Args args(env, info);
  bool orphaned = false;
  if (OsError error = DieWithParent(GetInt32(env, args[0]), GetInt32(env, args[1]), &orphaned)) return Throw(env, error);
  napi_value alive;
  napi_get_boolean(env, !orphaned, &alive);
  return alive;
}

napi_value PunchHoleBinding(napi_env env, napi_callback_info info) {
  Args args(env, info);
  int fd;
  size_t offset, length;
  if (!GetFd(env, args[0], "fd", &fd) || !GetLength(env, args[1], "offset", &offset) ||
      !GetLength(env, args[2], "length", &length)) {
    return nullptr;
  }
  if (OsError error = PunchHole(fd, offset, length)) return Throw(env, error);
  return nullptr;
}

napi_value SocketPair(napi_env env, napi_callback_info info) {
  int ends[2];
  if (OsError error = MakeSocketPair(ends)) return Throw(env, error);
  napi_value result;
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, Number(env, ends[0]));
  napi_set_element(env, result, 1, Number(env, ends[1]));
  return result;
}

napi_value SendFdBinding(napi_env env, napi_callback_info info) {
  Args args(env, info);
  int socket_fd, fd;
  if (!GetFd(env, args[0], "socketFd", &socket_fd) || !GetFd(env, args[1], "fd", &fd)) return nullptr;
  if (TypeOf(env, args[2]) != napi_number) return ThrowCoded(env, "TypeError", "ERR_MP_INVALID_ARG", "the tag must be a number");
  if (OsError error = SendFd(socket_fd, fd, NumberOr(env, args[2], 0))) return Throw(env, error);
  return nullptr;
}

napi_value RecvFdBinding(napi_env env, napi_callback_info info) {
  Args args(env, info);
  int socket_fd;
  if (!GetFd(env, args[0], "socketFd", &socket_fd)) return nullptr;
  bool got, malformed;
  int fd;
  double tag = 0;
  if (OsError error = RecvFd(socket_fd, &got, &malformed, &fd, &tag)) return Throw(env, error);
  if (malformed) return ThrowCoded(env, "TypeError", "ERR_MP_CORRUPT_RECORD", "the socket carried a message that sendFd did not send");
  if (!got) return nullptr;
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "fd", Number(env, fd));
  napi_set_named_property(env, result, "tag", Number(env, tag));
  return result;
}

// ---- futex ------------------------------------------------------------------------------------------

napi_value FutexWaitBinding(napi_env env, napi_callback_info info) {
  Args args(env, info);
  int32_t* address;
  if (!GetWord(env, args, 0, &address)) return nullptr;
  int32_t expected = GetInt32(env, args[2]);
  int64_t deadline = DeadlineAfter(GetTimeout(env, args[3]));
  for (;;) {
    if (FutexWaitUntil(address, expected, deadline) == 0) return String(env, "ok");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return String(env, "not-equal");
    if (errno == ETIMEDOUT) return String(env, "timed-out");
    return Throw(env, OsError{"futex(FUTEX_WAIT_BITSET)", errno, ""});
  }
}

napi_value FutexWakeBinding(napi_env env, napi_callback_info info) {
  Args args(env, info);
  int32_t* address;
  if (!GetWord(env, args, 0, &address)) return nullptr;
  double count = TypeOf(env, args[2]) == napi_undefined ? INFINITY : NumberOr(env, args[2], 0);
  if (std::isnan(count) || count < 0) count = 0;
  long woken = FutexWake(address, count >= INT32_MAX ? INT32_MAX : static_cast<int>(count));
  if (woken < 0) return Throw(env, OsError{"futex(FUTEX_WAKE)", errno, ""});
  return Number(env, static_cast<double>(woken));
}

// ---- async waits ------------------------------------------------------------------------------------

struct Pending {
  napi_deferred deferred;
  napi_ref words;    // keeps the memory alive while the wait is pending
  napi_ref promise;  // what futexWaitCancel is given
  bool keep_alive;
};

struct Settled {
  uint64_t id;
  Outcome outcome;
};

// One JavaScript thread's side (instance data).
struct ThreadState : WaitSink {
  napi_threadsafe_function deliver = nullptr;
  std::shared_ptr<ThreadState> self;  // held until `deliver` is finalized

  std::mutex mutex;  // guards alive, which helper threads read
  bool alive = true;

  std::unordered_map<uint64_t, Pending> pending;
  uint64_t next_id = 1;
  size_t holding = 0;

  // On a helper thread, with the pool's lock held.
  void Settle(uint64_t id, Outcome outcome) override {
    std::lock_guard<std::mutex> lock(mutex);
    if (!alive) return;
    napi_call_threadsafe_function(deliver, new Settled{id, outcome}, napi_tsfn_nonblocking);
  }
};

void Deliver(napi_env env, napi_value /* js_callback */, void* context, void* data) {
  std::unique_ptr<Settled> settled(static_cast<Settled*>(data));
  if (env == nullptr) return;  // the function is being finalized
  ThreadState* thread = static_cast<ThreadState*>(context);
  auto found = thread->pending.find(settled->id);
  if (found == thread->pending.end()) return;
  Pending pending = found->second;
  thread->pending.erase(found);
  if (pending.keep_alive && --thread->holding == 0) napi_unref_threadsafe_function(env, thread->deliver);
  napi_delete_reference(env, pending.words);
  napi_delete_reference(env, pending.promise);
  napi_resolve_deferred(env, pending.deferred, String(env, OutcomeName(settled->outcome)));
}

napi_value FutexWaitAsync(napi_env env, napi_callback_info info) {
  Args args(env, info);
  ThreadState* thread = static_cast<ThreadState*>(args.data);
  int32_t* address;
  if (!GetWord(env, args, 0, &address)) return nullptr;
  int32_t expected = GetInt32(env, args[2]);
  double timeout = GetTimeout(env, args[3]);
  bool keep_alive = true;
  if (TypeOf(env, args[4]) != napi_undefined) {
    napi_value flag;
    napi_coerce_to_bool(env, args[4], &flag);
    napi_get_value_bool(env, flag, &keep_alive);
  }
  uint64_t id = thread->next_id++;
  Outcome outcome;
  int error = 0;
  Added added = AddWait(WaitRequest{address, expected, timeout, nullptr, thread->self, id}, &outcome, &error);
  if (added == Added::kFailed) return Throw(env, OsError{"pthread_create", error, "no thread to wait in"});
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  if (added == Added::kSettledNow) {
    napi_resolve_deferred(env, deferred, String(env, OutcomeName(outcome)));
    return promise;
  }
  napi_ref words;
  napi_create_reference(env, args[0], 1, &words);
  napi_ref promise_ref;
  napi_create_reference(env, promise, 0, &promise_ref);
  thread->pending.emplace(id, Pending{deferred, words, promise_ref, keep_alive});
  if (keep_alive && thread->holding++ == 0) napi_ref_threadsafe_function(env, thread->deliver);
  return promise;
}

// futexWaitCancel(promise) → boolean: as in async-wait.cc. The promise is left pending, never settled.
napi_value FutexWaitCancel(napi_env env, napi_callback_info info) {
  Args args(env, info);
  ThreadState* thread = static_cast<ThreadState*>(args.data);
  for (auto it = thread->pending.begin(); it != thread->pending.end(); ++it) {
    napi_value promise = nullptr;
    napi_get_reference_value(env, it->second.promise, &promise);
    bool same = false;
    if (promise == nullptr || napi_strict_equals(env, promise, args[0], &same) != napi_ok || !same) continue;
    CancelWait(thread, it->first);
    if (it->second.keep_alive && --thread->holding == 0) napi_unref_threadsafe_function(env, thread->deliver);
    napi_delete_reference(env, it->second.words);
    napi_delete_reference(env, it->second.promise);
    thread->pending.erase(it);
    napi_value yes;
    napi_get_boolean(env, true, &yes);
    return yes;
  }
  napi_value no;
  napi_get_boolean(env, false, &no);
  return no;
}

napi_value AsyncWaitStats(napi_env env, napi_callback_info info) {
  WaitPoolStats stats = PoolStats();
  napi_value result;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "helperThreads", Number(env, stats.helper_threads));
  napi_set_named_property(env, result, "idleHelpers", Number(env, stats.idle_helpers));
  napi_set_named_property(env, result, "kernelWaits", Number(env, stats.kernel_waits));
  napi_set_named_property(env, result, "waiters", Number(env, stats.waiters));
  return result;
}

void OnThreadCleanup(void* data) {
  ThreadState* thread = static_cast<ThreadState*>(data);
  {
    std::lock_guard<std::mutex> lock(thread->mutex);
    thread->alive = false;
  }
  DropSink(thread, false);
  thread->pending.clear();
}

void Define(napi_env env, napi_value exports, const char* name, napi_callback callback, void* data = nullptr) {
  napi_value function;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, data, &function);
  napi_set_named_property(env, exports, name, function);
}

}  // namespace

}  // namespace mp

NAPI_MODULE_INIT(/* env, exports */) {
  using namespace mp;
  StayLoaded();
  Define(env, exports, "createSegment", CreateSegment);
  Define(env, exports, "mapSegment", MapSegment);
  Define(env, exports, "closeFd", CloseFdBinding);
  Define(env, exports, "dieWithParent", DieWithParentBinding);
  Define(env, exports, "punchHole", PunchHoleBinding);
  Define(env, exports, "socketPair", SocketPair);
  Define(env, exports, "sendFd", SendFdBinding);
  Define(env, exports, "recvFd", RecvFdBinding);
  Define(env, exports, "futexWait", FutexWaitBinding);
  Define(env, exports, "futexWake", FutexWakeBinding);
  Define(env, exports, "asyncWaitStats", AsyncWaitStats);

  auto thread = std::make_shared<ThreadState>();
  thread->self = thread;
  napi_value name = String(env, "multiprocessing futex wait");
  napi_create_threadsafe_function(
      env, nullptr, nullptr, name, 0, 1, thread.get(),
      [](napi_env, void* finalize_data, void*) { static_cast<ThreadState*>(finalize_data)->self.reset(); }, thread.get(),
      Deliver, &thread->deliver);
  napi_unref_threadsafe_function(env, thread->deliver);
  napi_add_env_cleanup_hook(env, OnThreadCleanup, thread.get());
  Define(env, exports, "futexWaitAsync", FutexWaitAsync, thread.get());
  Define(env, exports, "futexWaitCancel", FutexWaitCancel, thread.get());

  napi_value shared;
  napi_get_boolean(env, FindCreateExternalSab() != nullptr, &shared);
  napi_set_named_property(env, exports, "sharedArrayBuffers", shared);
  napi_set_named_property(env, exports, "pageSize", Number(env, static_cast<double>(PageSize())));
  return exports;
}
