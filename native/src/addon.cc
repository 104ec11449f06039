// The addon's entry: module registration, argument checks and errors shared by its parts.
//
// Why a native addon at all: a SharedArrayBuffer that several OS processes map needs memory the kernel
// shares (a memfd mapped MAP_SHARED), and waiting on it needs futex(2) without FUTEX_PRIVATE_FLAG,
// because V8's Atomics.wait/notify keep their wait lists inside one process (measured: a child's
// Atomics.wait is never woken by the parent's Atomics.notify). See native/README.md.
#include "addon.h"
#include "stay-loaded.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

namespace mp {

namespace {

bool ThrowWithCode(v8::Isolate* isolate, v8::Local<v8::Value> error, const char* code) {
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  error.As<v8::Object>()
      ->Set(context, v8::String::NewFromUtf8Literal(isolate, "code"),
            v8::String::NewFromUtf8(isolate, code).ToLocalChecked())
      .Check();
  isolate->ThrowException(error);
  return false;
}

v8::Local<v8::String> Text(v8::Isolate* isolate, const std::string& text) {
  return v8::String::NewFromUtf8(isolate, text.c_str()).ToLocalChecked();
}

}  // namespace

bool ThrowTypeError(v8::Isolate* isolate, const char* code, const std::string& message) {
  return ThrowWithCode(isolate, v8::Exception::TypeError(Text(isolate, message)), code);
}

bool ThrowRangeError(v8::Isolate* isolate, const char* code, const std::string& message) {
  return ThrowWithCode(isolate, v8::Exception::RangeError(Text(isolate, message)), code);
}

bool ThrowSyscall(v8::Isolate* isolate, const char* syscall, int err, const std::string& hint) {
  std::string message = std::string(syscall) + " failed: " + strerror(err);
  if (!hint.empty()) message += " (" + hint + ")";
  v8::Local<v8::Value> error = v8::Exception::Error(Text(isolate, message));
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Object> object = error.As<v8::Object>();
  object->Set(context, v8::String::NewFromUtf8Literal(isolate, "syscall"), Text(isolate, syscall)).Check();
  object->Set(context, v8::String::NewFromUtf8Literal(isolate, "errno"), v8::Integer::New(isolate, err)).Check();
  return ThrowWithCode(isolate, error, "ERR_MP_SYSCALL");
}

bool GetWord(const v8::FunctionCallbackInfo<v8::Value>& args, int at, Word* word) {
  v8::Isolate* isolate = args.GetIsolate();
  if (!args[at]->IsInt32Array()) {
    return ThrowTypeError(isolate, "ERR_MP_INVALID_ARG", "the words must be an Int32Array over a SharedArrayBuffer");
  }
  v8::Local<v8::Int32Array> array = args[at].As<v8::Int32Array>();
  v8::Local<v8::ArrayBuffer> buffer = array->Buffer();
  if (!buffer->IsSharedArrayBuffer()) {
    return ThrowTypeError(isolate, "ERR_MP_INVALID_ARG",
                          "the words must be an Int32Array over a SharedArrayBuffer, not over an ArrayBuffer: "
                          "futex waits are for shared memory");
  }
  v8::Local<v8::Value> index_value = args[at + 1];
  double index = index_value->IsNumber() ? index_value.As<v8::Number>()->Value() : NAN;
  size_t length = array->Length();
  if (!(index >= 0) || index != std::floor(index) || index >= static_cast<double>(length)) {
    return ThrowRangeError(isolate, "ERR_MP_INVALID_ARG",
                           "the index must be an integer from 0 to " + std::to_string(length) +
                               " (the array's length) exclusive");
  }
  word->store = buffer.As<v8::SharedArrayBuffer>()->GetBackingStore();
  char* base = static_cast<char*>(word->store->Data()) + array->ByteOffset();
  word->address = reinterpret_cast<int32_t*>(base) + static_cast<size_t>(index);
  return true;
}

bool GetFd(const v8::FunctionCallbackInfo<v8::Value>& args, int at, const char* name, int* fd) {
  v8::Local<v8::Value> value = args[at];
  double number = value->IsNumber() ? value.As<v8::Number>()->Value() : NAN;
  if (!(number >= 0) || number != std::floor(number) || number > INT32_MAX) {
    return ThrowTypeError(args.GetIsolate(), "ERR_MP_INVALID_ARG",
                          std::string(name) + " must be a file descriptor (an integer >= 0)");
  }
  *fd = static_cast<int>(number);
  return true;
}

double GetTimeout(const v8::FunctionCallbackInfo<v8::Value>& args, int at) {
  v8::Local<v8::Value> value = args[at];
  if (value->IsUndefined()) return INFINITY;
  double timeout = value->NumberValue(args.GetIsolate()->GetCurrentContext()).FromMaybe(NAN);
  if (std::isnan(timeout)) return INFINITY;
  return timeout < 0 ? 0 : timeout;
}

void SetFunction(v8::Local<v8::Object> exports, v8::Local<v8::Context> context, const char* name,
                 v8::FunctionCallback callback, v8::Local<v8::Value> data) {
  v8::Isolate* isolate = context->GetIsolate();
  v8::Local<v8::Function> function =
      v8::FunctionTemplate::New(isolate, callback, data)->GetFunction(context).ToLocalChecked();
  v8::Local<v8::String> key = v8::String::NewFromUtf8(isolate, name).ToLocalChecked();
  function->SetName(key);
  exports->Set(context, key, function).Check();
}

}  // namespace mp

// Context-aware: the addon may be loaded by the main thread and by worker threads; each gets its own
// async-wait state (see async-wait.cc).
NODE_MODULE_INIT(/* exports, module, context */) {
  mp::StayLoaded();
  mp::InitSegments(exports, context);
  mp::InitFutex(exports, context);
  mp::InitAsyncWait(exports, context);
}
