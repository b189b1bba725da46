// Monotonic time for durations: progress lines, timeouts, benchmarks. Never the wall clock. Also the
// CPU clocks the benchmarks and the writer thread report. Header-only (launch/bench builds without CMake).
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <ctime>

namespace curate {

using SteadyClock = std::chrono::steady_clock;

// Seconds on the steady clock since an arbitrary origin (fixed for the process).
inline double steady_seconds() { return std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count(); }

// Seconds elapsed since `start`, a reading of SteadyClock::now().
inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// CPU seconds of the calling thread so far (user + system).
inline double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// CPU seconds of the process so far (all threads, user + system): unlike wall time, barely changed by
// other processes competing for the cores.
inline double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

}  // namespace curate
