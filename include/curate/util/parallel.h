// A small fork-join loop for CPU work on independent items (tokenizing documents).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace curate {

// Number of threads for a request of `threads` (0 = all cores) over `items` items: at least 1.
inline int resolve_threads(int threads, std::size_t items) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(static_cast<std::size_t>(threads), items)));
}

// Calls body(state, i) for every i in [0, count) on resolve_threads(threads, count) threads; each thread
// builds its own state with make_state(). Items are taken in increasing order. The first exception
// stops the remaining items and is rethrown after every thread has joined; `failed` (optional) then
// holds the index of the item that threw.
template <typename MakeState, typename Body>
void parallel_for(std::size_t count, int threads, MakeState make_state, Body body, std::size_t* failed = nullptr) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    auto state = make_state();
    for (std::size_t i; (i = next.fetch_add(1)) < count;) {
      try {
        body(state, i);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) {
          failure = std::current_exception();
          if (failed != nullptr) *failed = i;
        }
        next = count;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < resolve_threads(threads, count); ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace curate
