// Shared memory segments and the file descriptors that carry them between processes.
//
// A segment is a memfd (memfd_create with MFD_CLOEXEC), sized with ftruncate and mapped MAP_SHARED as a
// real v8::SharedArrayBuffer whose backing store munmaps when V8 frees it. Why memfd and not a /dev/shm
// name: a memfd has no name to leak; the kernel frees it when its last fd is closed and its last mapping
// is gone, which covers SIGKILL and crashes (measured: a /dev/shm name leaked all 256 MiB after SIGKILL,
// a memfd freed it all). A process that has the fd maps the same pages; a child gets the fd at fork (an
// extra entry of child_process.fork's `stdio`) or later by SCM_RIGHTS over a socketpair (sendFd/recvFd).
#include <cmath>
#include <string>

#include "addon.h"
#include "fd-core.h"
#include "parent-death.h"

namespace mp {

namespace {

bool Throw(v8::Isolate* isolate, const OsError& error) { return ThrowSyscall(isolate, error.syscall, error.err, error.hint); }

void Unmapper(void* data, size_t length, void* /* deleter_data */) { Unmap(data, length); }

// `length` bytes of `fd` from `offset` mapped shared as a SharedArrayBuffer (empty for 0).
v8::MaybeLocal<v8::SharedArrayBuffer> MapAsBuffer(v8::Isolate* isolate, int fd, size_t length, size_t offset = 0) {
  if (length == 0) return v8::SharedArrayBuffer::New(isolate, 0);
  void* data;
  if (OsError error = MapShared(fd, length, &data, offset)) {
    Throw(isolate, error);
    return v8::MaybeLocal<v8::SharedArrayBuffer>();
  }
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(data, length, Unmapper, nullptr);
  return v8::SharedArrayBuffer::New(isolate, std::move(store));
}

bool GetLength(const v8::FunctionCallbackInfo<v8::Value>& args, int at, const char* name, size_t* length) {
  v8::Local<v8::Value> value = args[at];
  double number = value->IsNumber() ? value.As<v8::Number>()->Value() : NAN;
  if (!(number >= 0) || number != std::floor(number) || number > 9007199254740991.0) {
    return ThrowRangeError(args.GetIsolate(), "ERR_MP_INVALID_ARG",
                           std::string(name) + " must be a whole number of bytes >= 0");
  }
  *length = static_cast<size_t>(number);
  return true;
}

void SetProperty(v8::Local<v8::Object> object, const char* key, v8::Local<v8::Value> value) {
  v8::Isolate* isolate = object->GetIsolate();
  object->Set(isolate->GetCurrentContext(), v8::String::NewFromUtf8(isolate, key).ToLocalChecked(), value).Check();
}

// createSegment(byteLength, name = 'multiprocessing') → { fd, buffer }
void CreateSegment(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  size_t length;
  if (!GetLength(args, 0, "byteLength", &length)) return;
  std::string name = "multiprocessing";
  if (args[1]->IsString()) name = *v8::String::Utf8Value(isolate, args[1]);
  // The kernel limits a memfd name to 249 bytes; it only shows in /proc/<pid>/fd and maps, for debugging.
  if (name.size() > 200) name.resize(200);
  int fd;
  if (OsError error = CreateMemfd(name.c_str(), length, &fd)) {
    Throw(isolate, error);
    return;
  }
  v8::Local<v8::SharedArrayBuffer> buffer;
  if (!MapAsBuffer(isolate, fd, length).ToLocal(&buffer)) {
    CloseFd(fd);
    return;
  }
  v8::Local<v8::Object> result = v8::Object::New(isolate);
  SetProperty(result, "fd", v8::Integer::New(isolate, fd));
  SetProperty(result, "buffer", buffer);
  args.GetReturnValue().Set(result);
}

// mapSegment(fd, byteLength = the rest of the file, offset = 0) → SharedArrayBuffer. A non-zero offset
// (a multiple of the page size) maps one slice of a segment as a buffer of its own, starting at index 0:
// how the allocator hands out many small objects from one arena fd.
void MapSegment(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  int fd;
  if (!GetFd(args, 0, "fd", &fd)) return;
  size_t size;
  if (OsError error = SegmentSize(fd, &size)) {
    Throw(isolate, error);
    return;
  }
  size_t offset = 0;
  if (!args[2]->IsUndefined() && !GetLength(args, 2, "offset", &offset)) return;
  if (offset % PageSize() != 0) {
    ThrowRangeError(isolate, "ERR_MP_INVALID_ARG",
                    "offset " + std::to_string(offset) + " is not a multiple of the page size (" + std::to_string(PageSize()) + ")");
    return;
  }
  size_t length = offset <= size ? size - offset : 0;
  if (!args[1]->IsUndefined() && !GetLength(args, 1, "byteLength", &length)) return;
  // A mapping past the end of the file faults (SIGBUS) on first touch: refuse it here instead.
  if (offset > size || length > size - offset) {
    ThrowRangeError(isolate, "ERR_MP_INVALID_ARG",
                    "offset " + std::to_string(offset) + " + byteLength " + std::to_string(length) +
                        " is larger than the segment (" + std::to_string(size) + " bytes)");
    return;
  }
  v8::Local<v8::SharedArrayBuffer> buffer;
  if (MapAsBuffer(isolate, fd, length, offset).ToLocal(&buffer)) args.GetReturnValue().Set(buffer);
}

// closeFd(fd): a mapping made from the fd stays valid; the memory goes when the last fd and mapping go.
void CloseFdBinding(const v8::FunctionCallbackInfo<v8::Value>& args) {
  int fd;
  if (!GetFd(args, 0, "fd", &fd)) return;
  if (OsError error = CloseFd(fd)) Throw(args.GetIsolate(), error);
}

// dieWithParent(signal, parentPid) → false when the parent is already gone (see parent-death.cc).
void DieWithParentBinding(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  int signal = args[0]->Int32Value(context).FromMaybe(0);
  int parent = args[1]->Int32Value(context).FromMaybe(0);
  bool orphaned = false;
  if (OsError error = DieWithParent(signal, parent, &orphaned)) {
    Throw(isolate, error);
    return;
  }
  args.GetReturnValue().Set(v8::Boolean::New(isolate, !orphaned));
}

// socketPair() → [fd, fd]: SOCK_SEQPACKET keeps each sendFd one message, with its fd beside its tag.
// Both ends are close-on-exec: a child gets one only by naming it in fork's `stdio` (which dup2s it
// into the child and so clears the flag there).
void SocketPair(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  int ends[2];
  if (OsError error = MakeSocketPair(ends)) {
    Throw(isolate, error);
    return;
  }
  v8::Local<v8::Array> result = v8::Array::New(isolate, 2);
  result->Set(context, 0, v8::Integer::New(isolate, ends[0])).Check();
  result->Set(context, 1, v8::Integer::New(isolate, ends[1])).Check();
  args.GetReturnValue().Set(result);
}

// sendFd(socketFd, fd, tag): one message, the tag (a number) as its data and a copy of fd as SCM_RIGHTS.
void SendFdBinding(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  int socket_fd, fd;
  if (!GetFd(args, 0, "socketFd", &socket_fd) || !GetFd(args, 1, "fd", &fd)) return;
  if (!args[2]->IsNumber()) {
    ThrowTypeError(isolate, "ERR_MP_INVALID_ARG", "the tag must be a number");
    return;
  }
  if (OsError error = SendFd(socket_fd, fd, args[2].As<v8::Number>()->Value())) Throw(isolate, error);
}

// recvFd(socketFd) → { fd, tag } | undefined. Never blocks: undefined when no message is waiting (or the
// other end closed). Senders send the fd before they announce it (over IPC), so it is there when asked.
void RecvFdBinding(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  int socket_fd;
  if (!GetFd(args, 0, "socketFd", &socket_fd)) return;
  bool got, malformed;
  int fd;
  double tag = 0;
  if (OsError error = RecvFd(socket_fd, &got, &malformed, &fd, &tag)) {
    Throw(isolate, error);
    return;
  }
  if (malformed) {
    ThrowTypeError(isolate, "ERR_MP_CORRUPT_RECORD", "the socket carried a message that sendFd did not send");
    return;
  }
  if (!got) return;
  v8::Local<v8::Object> result = v8::Object::New(isolate);
  SetProperty(result, "fd", v8::Integer::New(isolate, fd));
  SetProperty(result, "tag", v8::Number::New(isolate, tag));
  args.GetReturnValue().Set(result);
}

// punchHole(fd, offset, length): gives the pages of a range back to the kernel (they read as zeros
// again), so a segment reserved at its largest size costs only what is in use.
void PunchHoleBinding(const v8::FunctionCallbackInfo<v8::Value>& args) {
  int fd;
  size_t offset, length;
  if (!GetFd(args, 0, "fd", &fd) || !GetLength(args, 1, "offset", &offset) || !GetLength(args, 2, "length", &length)) {
    return;
  }
  if (OsError error = PunchHole(fd, offset, length)) Throw(args.GetIsolate(), error);
}

}  // namespace

void InitSegments(v8::Local<v8::Object> exports, v8::Local<v8::Context> context) {
  SetFunction(exports, context, "createSegment", CreateSegment);
  SetFunction(exports, context, "mapSegment", MapSegment);
  SetFunction(exports, context, "closeFd", CloseFdBinding);
  SetFunction(exports, context, "dieWithParent", DieWithParentBinding);
  SetFunction(exports, context, "socketPair", SocketPair);
  SetFunction(exports, context, "sendFd", SendFdBinding);
  SetFunction(exports, context, "recvFd", RecvFdBinding);
  SetFunction(exports, context, "punchHole", PunchHoleBinding);
  // mapSegment's offsets are multiples of it (4 KiB on x86-64, up to 64 KiB on some arm64 kernels).
  v8::Isolate* isolate = context->GetIsolate();
  exports->Set(context, v8::String::NewFromUtf8(isolate, "pageSize").ToLocalChecked(),
               v8::Number::New(isolate, static_cast<double>(PageSize())))
      .Check();
}

}  // namespace mp
