#include "fd-core.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mp {

namespace {

OsError Failed(const char* syscall, int err, const char* hint = "") { return OsError{syscall, err, hint}; }

}  // namespace

OsError CreateMemfd(const char* name, size_t length, int* fd) {
  *fd = memfd_create(name, MFD_CLOEXEC);
  if (*fd < 0) return Failed("memfd_create", errno, "Linux >= 3.17 is needed; EMFILE means too many open fds");
  if (ftruncate(*fd, static_cast<off_t>(length)) != 0) {
    int err = errno;
    close(*fd);
    return Failed("ftruncate", err);
  }
  return OsError{};
}

OsError SegmentSize(int fd, size_t* size) {
  struct stat info;
  if (fstat(fd, &info) != 0) return Failed("fstat", errno, "is the fd open in this process?");
  *size = static_cast<size_t>(info.st_size);
  return OsError{};
}

OsError MapShared(int fd, size_t length, void** data, size_t offset) {
  *data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (*data == MAP_FAILED) return Failed("mmap", errno, "the fd must be a memfd opened for reading and writing");
  return OsError{};
}

void Unmap(void* data, size_t length) { munmap(data, length); }

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

OsError CloseFd(int fd) {
  if (close(fd) != 0 && errno != EINTR) return Failed("close", errno);
  return OsError{};
}

OsError PunchHole(int fd, size_t offset, size_t length) {
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(length)) !=
      0) {
    return Failed("fallocate", errno);
  }
  return OsError{};
}

OsError MakeSocketPair(int ends[2]) {
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) return Failed("socketpair", errno);
  return OsError{};
}

OsError SendFd(int socket_fd, int fd, double tag) {
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
  if (sent < 0) return Failed("sendmsg", errno, "EPIPE: the receiving end is closed");
  return OsError{};
}

OsError RecvFd(int socket_fd, bool* got, bool* malformed, int* fd, double* tag) {
  *got = false;
  *malformed = false;
  struct iovec data = {tag, sizeof *tag};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr message = {};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t received;
  do received = recvmsg(socket_fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (received < 0 && errno == EINTR);
  if (received < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? OsError{} : Failed("recvmsg", errno);
  if (received == 0) return OsError{};
  struct cmsghdr* header = CMSG_FIRSTHDR(&message);
  bool has_fd = header != nullptr && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS;
  if (has_fd) memcpy(fd, CMSG_DATA(header), sizeof *fd);
  if (!has_fd || received != sizeof *tag || (message.msg_flags & MSG_CTRUNC) != 0) {
    if (has_fd) close(*fd);
    *malformed = true;
    return OsError{};
  }
  *got = true;
  return OsError{};
}

}  // namespace mp
