// Keeps the addon's code mapped until the process ends. Why: stay-loaded.cc.
#pragma once

namespace mp {

// Idempotent and cheap after the first call; each target calls it when it loads.
void StayLoaded();

}  // namespace mp
