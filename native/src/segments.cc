// Shared memory segments and the file descriptors that carry them between processes.
//
// A segment is a memfd (memfd_create with MFD_CLOEXEC), sized with ftruncate and mapped MAP_SHARED as a
// real v8::SharedArrayBuffer whose backing store munmaps when V8 frees it. Why memfd and not a /dev/shm
// name: a memfd has no name to leak; the kernel frees it when its last fd is closed and its last mapping
// is gone, which covers SIGKILL and crashes (measured: a /dev/shm name leaked all 256 MiB after SIGKILL,
// a memfd freed it all). A process that has the fd maps the same pages; a child gets the fd at fork (an
// extra entry of child_process.fork's `stdio`) or later by SCM_RIGHTS over a socketpair (sendFd/recvFd).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "addon.h"

namespace mp {

namespace {

void Unmap(void* data, size_t length, void* /* deleter_data */) { munmap(data, length); }

// The whole of `fd` mapped shared as a SharedArrayBuffer of `length` bytes (empty for 0).
v8::MaybeLocal<v8::SharedArrayBuffer> MapShared(v8::Isolate* isolate, int fd, size_t length) {
  if (length == 0) return v8::SharedArrayBuffer::New(isolate, 0);
  void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    ThrowSyscall(isolate, "mmap", errno, "the fd must be a memfd opened for reading and writing");
    return v8::MaybeLocal<v8::SharedArrayBuffer>();
  }
  std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(data, length, Unmap, nullptr);
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

// createSegment(byteLength, name = 'multiprocessing') → { fd, buffer }
void CreateSegment(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  size_t length;
  if (!GetLength(args, 0, "byteLength", &length)) return;
  std::string name = "multiprocessing";
  if (args[1]->IsString()) name = *v8::String::Utf8Value(isolate, args[1]);
  // The kernel limits a memfd name to 249 bytes; it only shows in /proc/<pid>/fd and maps, for debugging.
  if (name.size() > 200) name.resize(200);
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) {
    ThrowSyscall(isolate, "memfd_create", errno, "Linux >= 3.17 is needed; EMFILE means too many open fds");
    return;
  }
  if (ftruncate(fd, static_cast<off_t>(length)) != 0) {
    int err = errno;
    close(fd);
    ThrowSyscall(isolate, "ftruncate", err);
    return;
  }
  v8::Local<v8::SharedArrayBuffer> buffer;
  if (!MapShared(isolate, fd, length).ToLocal(&buffer)) {
    close(fd);
    return;
  }
  v8::Local<v8::Object> result = v8::Object::New(isolate);
  result->Set(context, v8::String::NewFromUtf8Literal(isolate, "fd"), v8::Integer::New(isolate, fd)).Check();
  result->Set(context, v8::String::NewFromUtf8Literal(isolate, "buffer"), buffer).Check();
  args.GetReturnValue().Set(result);
}

// mapSegment(fd, byteLength = the file's size) → SharedArrayBuffer
void MapSegment(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  int fd;
  if (!GetFd(args, 0, "fd", &fd)) return;
  struct stat info;
  if (fstat(fd, &info) != 0) {
    ThrowSyscall(isolate, "fstat", errno, "is the fd open in this process?");
    return;
  }
  size_t size = static_cast<size_t>(info.st_size);
  size_t length = size;
  if (!args[1]->IsUndefined() && !GetLength(args, 1, "byteLength", &length)) return;
  // A mapping past the end of the file faults (SIGBUS) on first touch: refuse it here instead.
  if (length > size) {
    ThrowRangeError(isolate, "ERR_MP_INVALID_ARG",
                    "byteLength " + std::to_string(length) + " is larger than the segment (" + std::to_string(size) +
                        " bytes)");
    return;
  }
  v8::Local<v8::SharedArrayBuffer> buffer;
  if (MapShared(isolate, fd, length).ToLocal(&buffer)) args.GetReturnValue().Set(buffer);
}

// closeFd(fd): a mapping made from the fd stays valid; the memory goes when the last fd and mapping go.
void CloseFd(const v8::FunctionCallbackInfo<v8::Value>& args) {
  int fd;
  if (!GetFd(args, 0, "fd", &fd)) return;
  if (close(fd) != 0 && errno != EINTR) ThrowSyscall(args.GetIsolate(), "close", errno);
}

// socketPair() → [fd, fd]: SOCK_SEQPACKET keeps each sendFd one message, with its fd beside its tag.
// Both ends are close-on-exec: a child gets one only by naming it in fork's `stdio` (which dup2s it
// into the child and so clears the flag there).
void SocketPair(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  int ends[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
    ThrowSyscall(isolate, "socketpair", errno);
    return;
  }
  v8::Local<v8::Array> result = v8::Array::New(isolate, 2);
  result->Set(context, 0, v8::Integer::New(isolate, ends[0])).Check();
  result->Set(context, 1, v8::Integer::New(isolate, ends[1])).Check();
  args.GetReturnValue().Set(result);
}

// sendFd(socketFd, fd, tag): one message, the tag (a number) as its data and a copy of fd as SCM_RIGHTS.
void SendFd(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  int socket_fd, fd;
  if (!GetFd(args, 0, "socketFd", &socket_fd) || !GetFd(args, 1, "fd", &fd)) return;
  if (!args[2]->IsNumber()) {
    ThrowTypeError(isolate, "ERR_MP_INVALID_ARG", "the tag must be a number");
    return;
  }
  double tag = args[2].As<v8::Number>()->Value();
  struct iovec data = {&tag, sizeof tag};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct msghdr message = {};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  struct cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof fd);
  ssize_t sent;
  do sent = sendmsg(socket_fd, &message, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) ThrowSyscall(isolate, "sendmsg", errno, "EPIPE: the receiving end is closed");
}

// recvFd(socketFd) → { fd, tag } | undefined. Never blocks: undefined when no message is waiting (or the
// other end closed). Senders send the fd before they announce it (over IPC), so it is there when asked.
void RecvFd(const v8::FunctionCallbackInfo<v8::Value>& args) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  int socket_fd;
  if (!GetFd(args, 0, "socketFd", &socket_fd)) return;
  double tag = 0;
  struct iovec data = {&tag, sizeof tag};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr message = {};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t got;
  do got = recvmsg(socket_fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (got < 0 && errno == EINTR);
  if (got < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) ThrowSyscall(isolate, "recvmsg", errno);
    return;
  }
  if (got == 0) return;
  struct cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (got != sizeof tag || header == nullptr || header->cmsg_level != SOL_SOCKET ||
      header->cmsg_type != SCM_RIGHTS || (message.msg_flags & MSG_CTRUNC) != 0) {
    if (header != nullptr && header->cmsg_type == SCM_RIGHTS) {
      int stray;
      memcpy(&stray, CMSG_DATA(header), sizeof stray);
      close(stray);
    }
    ThrowTypeError(isolate, "ERR_MP_CORRUPT_RECORD", "the socket carried a message that sendFd did not send");
    return;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(header), sizeof fd);
  v8::Local<v8::Object> result = v8::Object::New(isolate);
  result->Set(context, v8::String::NewFromUtf8Literal(isolate, "fd"), v8::Integer::New(isolate, fd)).Check();
  result->Set(context, v8::String::NewFromUtf8Literal(isolate, "tag"), v8::Number::New(isolate, tag)).Check();
  args.GetReturnValue().Set(result);
}

// punchHole(fd, offset, length): gives the pages of a range back to the kernel (they read as zeros
// again), so a segment reserved at its largest size costs only what is in use.
void PunchHole(const v8::FunctionCallbackInfo<v8::Value>& args) {
  int fd;
  size_t offset, length;
  if (!GetFd(args, 0, "fd", &fd) || !GetLength(args, 1, "offset", &offset) || !GetLength(args, 2, "length", &length)) {
    return;
  }
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(length)) !=
      0) {
    ThrowSyscall(args.GetIsolate(), "fallocate", errno);
  }
}

}  // namespace

void InitSegments(v8::Local<v8::Object> exports, v8::Local<v8::Context> context) {
  SetFunction(exports, context, "createSegment", CreateSegment);
  SetFunction(exports, context, "mapSegment", MapSegment);
  SetFunction(exports, context, "closeFd", CloseFd);
  SetFunction(exports, context, "socketPair", SocketPair);
  SetFunction(exports, context, "sendFd", SendFd);
  SetFunction(exports, context, "recvFd", RecvFd);
  SetFunction(exports, context, "punchHole", PunchHole);
}

}  // namespace mp
