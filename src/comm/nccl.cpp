#include "curate/comm/nccl.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "curate/util/error.h"

namespace curate::comm {
namespace {

using Clock = std::chrono::steady_clock;

// Makes `device` current for the calling thread and restores the previous device on exit.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != device) cudaSetDevice(device);  // failures surface in the next CUDA/NCCL call
  }
  ~DeviceScope() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace

struct NcclComm::State {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int rank = 0, size = 1, device = 0;
  int world_rank = -1;  // for messages
  double timeout = 0;
  bool failed = false;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  // Also runs when the constructor throws half-way: whatever was created is released.
  ~State() {
    DeviceScope scope(device);
    if (comm != nullptr) {
      bool clean = !failed;
      if (clean) {
        try {
          check_nccl(ncclCommFinalize(comm), "ncclCommFinalize");
          wait("ncclCommFinalize", /*stream_too=*/false);
        } catch (const DistError&) {
          clean = false;
        }
      }
      if (clean) {
        ncclCommDestroy(comm);
      } else {
        ncclCommAbort(comm);
      }
    }
    if (stream != nullptr) cudaStreamDestroy(stream);
  }

  [[noreturn]] void fail(const std::string& what) {
    failed = true;
    throw DistError("NCCL: " + what + " on rank " + std::to_string(world_rank) + " (node rank " + std::to_string(rank) +
                    " of " + std::to_string(size) + ", CUDA device " + std::to_string(device) + ")");
  }

  void check_nccl(ncclResult_t rc, const char* call) {
    if (rc == ncclSuccess || rc == ncclInProgress) return;
    const char* last = ncclGetLastError(comm);
    fail(std::string(call) + " failed: " + ncclGetErrorString(rc) +
         (last && *last ? std::string(" (") + last + ")" : ""));
  }

  void check_cuda(cudaError_t rc, const char* call) {
    if (rc != cudaSuccess) fail(std::string(call) + " failed: " + cudaGetErrorString(rc));
  }

  // Polls until the communicator leaves ncclInProgress and, when `stream_too`, the stream has drained.
  void wait(const char* call, bool stream_too) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout);
    auto pause = std::chrono::microseconds(20);
    for (;;) {
      ncclResult_t state = ncclSuccess;
      check_nccl(ncclCommGetAsyncError(comm, &state), "ncclCommGetAsyncError");
      if (state != ncclSuccess && state != ncclInProgress) check_nccl(state, call);
      if (state == ncclSuccess) {
        if (!stream_too) return;
        const cudaError_t query = cudaStreamQuery(stream);
        if (query == cudaSuccess) return;
        if (query != cudaErrorNotReady) check_cuda(query, "cudaStreamQuery");
      }
      if (Clock::now() > deadline) {
        fail(std::string(call) + " did not complete within " + std::to_string(timeout) +
             " s (another rank of the group stopped, failed or is stuck; its own log names the cause)");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(2000));
    }
  }
};

NcclComm::NcclComm(const Comm& group, int device, double timeout_seconds) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.rank = group.rank();
  s.size = group.size();
  s.device = device;
  s.timeout = timeout_seconds;
  s.world_rank = Comm::world_rank();
  if (!(timeout_seconds > 0)) throw ConfigError("NCCL timeout must be positive");
  // Rank 0 makes the id; an empty message tells the others that it could not.
  std::vector<std::byte> id_bytes;
  if (s.rank == 0) {
    DeviceScope scope(device);
    ncclUniqueId id;
    if (ncclGetUniqueId(&id) == ncclSuccess) {
      id_bytes.resize(sizeof id);
      std::memcpy(id_bytes.data(), &id, sizeof id);
    }
  }
  group.broadcast_bytes(id_bytes);
  if (id_bytes.size() != sizeof(ncclUniqueId)) {
    s.fail("rank 0 of the node group could not create an NCCL unique id (ncclGetUniqueId; see its log)");
  }
  ncclUniqueId id;
  std::memcpy(&id, id_bytes.data(), sizeof id);

  DeviceScope scope(device);
  s.check_cuda(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // returns at once; wait() polls with the timeout
  s.check_nccl(ncclCommInitRankConfig(&s.comm, s.size, id, s.rank, &config), "ncclCommInitRankConfig");
  s.wait("ncclCommInitRankConfig", /*stream_too=*/false);
}

NcclComm::~NcclComm() = default;

int NcclComm::rank() const { return state_->rank; }
int NcclComm::size() const { return state_->size; }
int NcclComm::device() const { return state_->device; }

void NcclComm::broadcast(void* device_ptr, std::size_t bytes, int root) {
  State& s = *state_;
  if (s.failed) s.fail("broadcast on a communicator that failed earlier");
  if (root < 0 || root >= s.size) {
    s.fail("broadcast root " + std::to_string(root) + " is outside 0.." + std::to_string(s.size - 1));
  }
  if (bytes == 0) return;
  DeviceScope scope(s.device);
  s.check_nccl(ncclBroadcast(device_ptr, device_ptr, bytes, ncclUint8, root, s.comm, s.stream), "ncclBroadcast");
  s.wait("ncclBroadcast", /*stream_too=*/true);
}

int NcclComm::cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" state
    return 0;
  }
  return count;
}

std::size_t NcclComm::device_memory(int device) {
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return properties.totalGlobalMem;
}

}  // namespace curate::comm
