// A process child that ends with its parent, even while it runs synchronous code (both targets).
#pragma once

#include "fd-core.h"

namespace mp {

// Asks the kernel to send `signal` to this process when its parent ends (prctl PR_SET_PDEATHSIG), then
// checks that the parent is still `parent_pid`: a parent that ended before the request was made sends
// nothing, so *orphaned tells the caller to end now.
OsError DieWithParent(int signal, int parent_pid, bool* orphaned);

}  // namespace mp
