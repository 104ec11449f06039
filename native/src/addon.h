// What the parts of the addon share: argument checks and errors that carry the library's codes.
#pragma once

#include <node.h>
#include <v8.h>

#include <cstdint>
#include <memory>
#include <string>

#include "futex-core.h"

namespace mp {

// Throws `new ctor(message)` with `code` set; returns false so a caller can `return Throw…(…)`.
bool ThrowTypeError(v8::Isolate* isolate, const char* code, const std::string& message);
bool ThrowRangeError(v8::Isolate* isolate, const char* code, const std::string& message);
// An operating-system call failed: an Error with code ERR_MP_SYSCALL, `syscall` and `errno` (positive).
bool ThrowSyscall(v8::Isolate* isolate, const char* syscall, int err, const std::string& hint = "");

// One 32-bit word of an Int32Array over a SharedArrayBuffer, and the memory that holds it (kept alive by
// whoever waits on the word, so a helper thread never waits on memory that was unmapped).
struct Word {
  int32_t* address = nullptr;
  std::shared_ptr<v8::BackingStore> store;
};

// args[at] an Int32Array over a SharedArrayBuffer, args[at + 1] an integer index inside it.
bool GetWord(const v8::FunctionCallbackInfo<v8::Value>& args, int at, Word* word);
// A file descriptor argument: an integer >= 0.
bool GetFd(const v8::FunctionCallbackInfo<v8::Value>& args, int at, const char* name, int* fd);
// A timeout in milliseconds as Atomics.wait reads it: undefined or NaN is none (+Infinity), below 0 is 0.
double GetTimeout(const v8::FunctionCallbackInfo<v8::Value>& args, int at);

// The functions each part adds to the module's exports.
void InitSegments(v8::Local<v8::Object> exports, v8::Local<v8::Context> context);
void InitFutex(v8::Local<v8::Object> exports, v8::Local<v8::Context> context);
void InitAsyncWait(v8::Local<v8::Object> exports, v8::Local<v8::Context> context);

void SetFunction(v8::Local<v8::Object> exports, v8::Local<v8::Context> context, const char* name,
                 v8::FunctionCallback callback, v8::Local<v8::Value> data = v8::Local<v8::Value>());

}  // namespace mp
