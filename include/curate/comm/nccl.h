// NCCL wrapped once: src/comm/nccl.cpp (target curate_nccl, built when CMake finds NCCL and the CUDA
// toolkit; its users see CURATE_WITH_NCCL=1) is the only file that includes <nccl.h>. Torch-free.
// Failures throw DistError naming the world rank, the call, ncclGetErrorString and ncclGetLastError.
// Nothing blocks forever: initialization is non-blocking and every operation is polled (stream state
// and ncclCommGetAsyncError, as nccl-tests does) until it completes, fails, or `timeout_seconds`
// pass; then the communicator is aborted and the error thrown.
#pragma once

#include <cstddef>
#include <memory>

#include "curate/comm/mpi.h"

namespace curate::comm {

class NcclComm {
 public:
  // One NCCL communicator over the ranks of `group` (e.g. Comm::split_shared() of the scoring ranks),
  // this rank on CUDA device `device` (an ordinal of this process). Rank 0 of `group` creates the
  // unique id and broadcasts it over MPI; NCCL ranks equal the ranks of `group`. Collective over
  // `group`. `timeout_seconds` bounds initialization and each later operation (> 0).
  NcclComm(const Comm& group, int device, double timeout_seconds);
  // Destroys the communicator (aborts it after a failure); never throws.
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  int rank() const;
  int size() const;
  int device() const;

  // Collective: the `bytes` at `device_ptr` on rank `root` arrive at `device_ptr` on every rank
  // (in place; `device_ptr` is memory of this rank's device, whose pending writes the caller has
  // completed). Blocks until the copy is complete on this rank. Throws DistError on failure or
  // timeout; the communicator is aborted and unusable afterwards.
  void broadcast(void* device_ptr, std::size_t bytes, int root);

  // CUDA devices visible to this process; 0 when there is no driver or no device. Never throws.
  static int cuda_device_count();
  // Total memory of CUDA device `device` in bytes; 0 when it cannot be read. Never throws.
  static std::size_t device_memory(int device);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace curate::comm
