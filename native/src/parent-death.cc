// Why: a child learns that its parent died when the IPC channel closes, which its event loop sees only
// between tasks; a child busy in a long synchronous task (a pool worker in the middle of a map) would
// outlive a parent killed by SIGKILL until that task returned. The kernel's parent-death signal reaches
// it at once. The signal is sent when the thread that forked the child ends; Node forks from the thread
// that calls child_process.fork, the one that owns the child, so a child also ends with a worker thread
// that started it, which is what the library wants of its children.
#include "parent-death.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>

namespace mp {

OsError DieWithParent(int signal, int parent_pid, bool* orphaned) {
  if (prctl(PR_SET_PDEATHSIG, signal) != 0) return OsError{"prctl", errno, "PR_SET_PDEATHSIG"};
  *orphaned = getppid() != parent_pid;
  return OsError{};
}

}  // namespace mp
