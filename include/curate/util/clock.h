// Monotonic time for durations: progress lines, timeouts, benchmarks. Never the wall clock.
#pragma once

#include <chrono>

namespace curate {

using SteadyClock = std::chrono::steady_clock;

// Seconds on the steady clock since an arbitrary origin (fixed for the process).
inline double steady_seconds() { return std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count(); }

// Seconds elapsed since `start`, a reading of SteadyClock::now().
inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace curate
