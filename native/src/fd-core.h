// Segments and fd passing at the level of the operating system: what both targets (V8 API and
// Node-API) call, each with its own argument checks and its own way of making a SharedArrayBuffer.
// Why memfd and SCM_RIGHTS: segments.cc.
#pragma once

#include <cstddef>

namespace mp {

// A failed system call: its name and errno (err == 0: no failure).
struct OsError {
  const char* syscall = nullptr;
  int err = 0;
  const char* hint = "";
  explicit operator bool() const { return err != 0; }
};

// memfd_create(MFD_CLOEXEC) + ftruncate: a new segment's fd.
OsError CreateMemfd(const char* name, size_t length, int* fd);
// The segment's size (fstat).
OsError SegmentSize(int fd, size_t* size);
// mmap(MAP_SHARED) of `length` bytes from `offset` (a multiple of the page size); Unmap is the matching
// deleter.
OsError MapShared(int fd, size_t length, void** data, size_t offset = 0);
// The page size: mapSegment's offsets are multiples of it.
size_t PageSize();
void Unmap(void* data, size_t length);
OsError CloseFd(int fd);
OsError PunchHole(int fd, size_t offset, size_t length);
// AF_UNIX SOCK_SEQPACKET, close-on-exec.
OsError MakeSocketPair(int ends[2]);
// One message: the tag as data, a copy of fd as SCM_RIGHTS.
OsError SendFd(int socket_fd, int fd, double tag);
// Never blocks. *got is false when no message is waiting (or the other end closed). *malformed is set
// when the message was not one SendFd sent (an fd that came with it is closed).
OsError RecvFd(int socket_fd, bool* got, bool* malformed, int* fd, double* tag);

}  // namespace mp
