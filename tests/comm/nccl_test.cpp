// NCCL weight broadcast (comm::NcclComm), run under mpiexec. Needs one CUDA device per rank of the
// node; without them every test is skipped with the reason (the binary still proves that the NCCL
// code compiles and links). CTest runs it with 1 rank (a one-rank communicator on one GPU) and 2.
#include "curate/comm/nccl.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "curate/util/error.h"
#include "curate/util/hash.h"

namespace curate::comm {
namespace {

// Skips unless every rank of the node has its own CUDA device; returns the node communicator.
#define REQUIRE_ONE_GPU_PER_RANK(node)                                                                               \
  Comm node = Comm::world().split_shared();                                                                          \
  if (NcclComm::cuda_device_count() < node.size()) {                                                                 \
    GTEST_SKIP() << "needs a CUDA device per rank of the node: " << NcclComm::cuda_device_count() << " visible for " \
                 << node.size() << " rank(s) (no GPU in this environment; "                                          \
                 << "launch/gpu_check.sh runs this test on the GPU machine)";                                        \
  }

// Device memory for the test, freed on scope exit.
struct DeviceBytes {
  explicit DeviceBytes(std::size_t n) : size(n) {
    if (cudaMalloc(&data, n == 0 ? 1 : n) != cudaSuccess) throw DistError("cudaMalloc failed");
  }
  ~DeviceBytes() { cudaFree(data); }
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
  void* data = nullptr;
  std::size_t size;
};

std::vector<unsigned char> pattern(std::size_t n, uint64_t seed) {
  std::vector<unsigned char> bytes(n);
  uint64_t state = seed;
  for (std::size_t i = 0; i < n; i += 8) {
    state = mix64(state);
    for (std::size_t k = 0; k < 8 && i + k < n; ++k) bytes[i + k] = static_cast<unsigned char>(state >> (8 * k));
  }
  return bytes;
}

TEST(Nccl, CudaRuntimeLinksAndCountsDevices) {
  EXPECT_GE(NcclComm::cuda_device_count(), 0);  // 0 on a machine without a driver: no exception
}

TEST(Nccl, BroadcastGivesEveryRankTheRootsBits) {
  REQUIRE_ONE_GPU_PER_RANK(node);
  NcclComm nccl(node, node.rank(), /*timeout_seconds=*/120);
  EXPECT_EQ(nccl.rank(), node.rank());
  EXPECT_EQ(nccl.size(), node.size());
  // Odd sizes from 1 byte to 64 MiB + 7, from every root.
  for (std::size_t bytes : {std::size_t{1}, std::size_t{3}, std::size_t{4101}, (std::size_t{64} << 20) + 7}) {
    for (int root = 0; root < nccl.size(); ++root) {
      const auto want = pattern(bytes, bytes * 31 + static_cast<uint64_t>(root));
      auto mine = nccl.rank() == root ? want : std::vector<unsigned char>(bytes, 0xab);
      DeviceBytes buffer(bytes);
      ASSERT_EQ(cudaMemcpy(buffer.data, mine.data(), bytes, cudaMemcpyHostToDevice), cudaSuccess);
      nccl.broadcast(buffer.data, bytes, root);
      std::vector<unsigned char> got(bytes);
      ASSERT_EQ(cudaMemcpy(got.data(), buffer.data, bytes, cudaMemcpyDeviceToHost), cudaSuccess);
      EXPECT_TRUE(got == want) << bytes << " bytes from root " << root << " on node rank " << nccl.rank();
    }
  }
  nccl.broadcast(nullptr, 0, 0);  // nothing to send: no NCCL call
}

TEST(Nccl, ErrorsNameTheRankAndLeaveTheCommunicatorUnusable) {
  REQUIRE_ONE_GPU_PER_RANK(node);
  NcclComm nccl(node, node.rank(), /*timeout_seconds=*/60);
  DeviceBytes buffer(16);
  try {
    nccl.broadcast(buffer.data, 16, nccl.size());  // no such root
    ADD_FAILURE() << "expected DistError";
  } catch (const DistError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rank " + std::to_string(Comm::world_rank())), std::string::npos) << what;
    EXPECT_NE(what.find("root"), std::string::npos) << what;
  }
  EXPECT_THROW(nccl.broadcast(buffer.data, 16, 0), DistError);
}

}  // namespace
}  // namespace curate::comm

int main(int argc, char** argv) {
  curate::comm::Environment environment(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (curate::comm::Comm::world().rank() != 0) {  // one report is enough
    delete ::testing::UnitTest::GetInstance()->listeners().Release(
        ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  return RUN_ALL_TESTS();
}
