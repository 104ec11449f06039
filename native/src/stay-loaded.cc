// Node unloads (dlclose) the addons a worker thread loaded when that worker's environment goes away,
// and only then deletes the worker's V8 heap. A SharedArrayBuffer whose memory the addon made (a
// segment) still lives in that heap, and V8 calls its deleter, which is code of the addon, from the
// heap's teardown: after the unload, a jump into unmapped memory (a segfault of the whole program when
// a worker that was the first to load the addon, e.g. by creating a SharedMemory, exits). The helper
// threads of async waits run the addon's code too, whatever thread loaded it. So the addon takes one
// reference to itself that nothing releases, and asks that it never be unloaded (RTLD_NODELETE).
#include "stay-loaded.h"

#include <dlfcn.h>

#include <mutex>

namespace mp {

void StayLoaded() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info self{};
    if (dladdr(reinterpret_cast<void*>(&StayLoaded), &self) == 0 || self.dli_fname == nullptr) return;
    // The handle is dropped on purpose: it is the reference that keeps the addon loaded.
    dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
  });
}

}  // namespace mp
