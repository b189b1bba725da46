// Runs under mpirun (CTest label "mpi"); every rank runs the same tests.
#include "curate/comm/mpi.h"
#include "curate/util/error.h"

#include <gtest/gtest.h>

#include "curate/comm/wire.h"

namespace curate::comm {
namespace {

TEST(Mpi, RanksExchangeMessagesWithRankZero) {
  Comm comm = Comm::world();
  ASSERT_GE(comm.size(), 2) << "run under mpirun -np 2 or more";
  if (comm.rank() == 0) {
    int64_t sum = 0;
    for (int i = 1; i < comm.size(); ++i) {
      auto message = comm.receive(30.0);
      ASSERT_TRUE(message.has_value());
      EXPECT_EQ(message->tag, 5);
      Reader reader(message->data);
      EXPECT_EQ(reader.get<int32_t>(), message->source);
      sum += reader.get<int64_t>();
    }
    EXPECT_EQ(sum, 10 * (comm.size() - 1));
  } else {
    Writer writer;
    writer.put<int32_t>(comm.rank()).put<int64_t>(10);
    comm.send(0, 5, writer.bytes());
  }
  comm.barrier();
}

// Rank 0 and every other rank each send the other a message far above any eager limit before either
// receives: with blocking sends both would wait for the other's receive forever (the test would hit
// its CTest timeout). An Outbox send returns at once, and its messages keep their order with a
// blocking send that follows.
TEST(Mpi, OutboxSendsDoNotWaitForTheReceiver) {
  Comm comm = Comm::world();
  constexpr std::size_t kBig = std::size_t{8} << 20;
  auto big = [](int from) {
    std::vector<std::byte> bytes(kBig);
    for (std::size_t i = 0; i < bytes.size(); i += 4096) bytes[i] = static_cast<std::byte>((i / 4096 + from) & 0xff);
    return bytes;
  };
  auto expect_big = [&](const Message& m, int from) {
    ASSERT_EQ(m.data.size(), kBig);
    EXPECT_EQ(m.data, big(from));
  };
  if (comm.rank() == 0) {
    Outbox outbox(comm);
    for (int rank = 1; rank < comm.size(); ++rank) outbox.send(rank, 7, big(0));
    for (int rank = 1; rank < comm.size(); ++rank) {
      const std::byte last{static_cast<unsigned char>(rank)};
      comm.send(rank, 8, std::span<const std::byte>(&last, 1));  // after the big one, also on arrival
    }
    for (int i = 1; i < comm.size(); ++i) {
      auto message = comm.receive(60.0);
      ASSERT_TRUE(message.has_value());
      expect_big(*message, message->source);
    }
    while (outbox.reap() > 0) {
      comm.receive(0.001);  // nothing comes; drives MPI's progress
    }
  } else {
    Outbox outbox(comm);
    outbox.send(0, 7, big(comm.rank()));
    auto first = comm.receive(60.0, 0);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->tag, 7);
    expect_big(*first, 0);
    auto second = comm.receive(60.0, 0);
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->tag, 8);
    ASSERT_EQ(second->data.size(), 1u);
    EXPECT_EQ(second->data[0], static_cast<std::byte>(comm.rank()));
  }
  comm.barrier();
}

TEST(Mpi, ReceiveTimesOutAndBroadcastReachesAll) {
  Comm comm = Comm::world();
  EXPECT_FALSE(comm.receive(0.05).has_value());  // nobody sends
  EXPECT_EQ(comm.broadcast(comm.rank() == 0 ? "from rank 0" : "ignored"), "from rank 0");
  comm.barrier();
}

// rank0_attempt: every rank learns rank 0's verdict; rank 0 rethrows its own error class, the others
// return false.
TEST(Mpi, Rank0AttemptBroadcastsTheVerdict) {
  Comm comm = Comm::world();
  int ran = 0;
  EXPECT_TRUE(rank0_attempt(comm, [&] { ++ran; }));
  EXPECT_EQ(ran, comm.rank() == 0 ? 1 : 0);  // only rank 0 runs it
  const auto fail = [] { throw DataError("data.jsonl:3: not JSON"); };
  if (comm.rank() == 0) {
    EXPECT_THROW(rank0_attempt(comm, fail), DataError);
  } else {
    EXPECT_FALSE(rank0_attempt(comm, fail));
  }
  comm.barrier();
}

TEST(Mpi, VectorBroadcastAndAllgatherFillEveryRank) {
  Comm comm = Comm::world();
  std::vector<float> values;
  if (comm.rank() == 0) values = {1.5f, -2.0f, 3.25f};
  comm.broadcast(values);
  EXPECT_EQ(values, (std::vector<float>{1.5f, -2.0f, 3.25f}));
  std::vector<double> empty;
  comm.broadcast(empty);
  EXPECT_TRUE(empty.empty());

  const int64_t n = 10;  // uneven shares, one of them possibly empty
  std::vector<int64_t> first(static_cast<std::size_t>(comm.size()) + 1);
  for (int r = 0; r <= comm.size(); ++r) first[static_cast<std::size_t>(r)] = n * r / comm.size();
  std::vector<int32_t> all(n, -1);
  for (int64_t i = first[static_cast<std::size_t>(comm.rank())]; i < first[static_cast<std::size_t>(comm.rank()) + 1];
       ++i) {
    all[static_cast<std::size_t>(i)] = static_cast<int32_t>(i * i);
  }
  comm.allgather(all, first);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i * i) << i;
  std::vector<int64_t> wrong(first.begin(), first.end() - 1);
  EXPECT_THROW(comm.allgather(all, wrong), DistError);
  comm.barrier();
}

TEST(Mpi, SubgroupLeavesRankZeroOutAndNodeSplitKeepsRankOrder) {
  Comm comm = Comm::world();
  std::vector<int> workers;
  for (int r = 1; r < comm.size(); ++r) workers.push_back(r);
  if (comm.rank() == 0) {
    // Not listed: refused before any MPI call, so the others do not wait for rank 0.
    EXPECT_THROW(comm.subgroup(workers), DistError);
  } else {
    Comm group = comm.subgroup(workers);
    EXPECT_EQ(group.size(), comm.size() - 1);
    EXPECT_EQ(group.rank(), comm.rank() - 1);
    EXPECT_EQ(group.broadcast(group.rank() == 0 ? "from world rank 1" : ""), "from world rank 1");
    Comm node = group.split_shared();  // every rank of this test runs on one machine
    EXPECT_EQ(node.size(), group.size());
    EXPECT_EQ(node.rank(), group.rank());
    std::vector<int64_t> values;
    if (node.rank() == 0) values = {comm.rank(), 42};
    node.broadcast(values);
    EXPECT_EQ(values, (std::vector<int64_t>{1, 42}));
    node.barrier();
  }
  const std::vector<int> unordered = {1, 0};
  EXPECT_THROW(comm.subgroup(unordered), DistError);
  Comm node = comm.split_shared();
  EXPECT_EQ(node.size(), comm.size());
  EXPECT_EQ(node.rank(), comm.rank());
  EXPECT_EQ(Comm::world_rank(), comm.rank());
  comm.barrier();
}

}  // namespace
}  // namespace curate::comm

int main(int argc, char** argv) {
  curate::comm::Environment environment(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rank = curate::comm::Comm::world().rank();
  if (rank != 0) {  // one report is enough; failures still set the exit code on every rank
    delete ::testing::UnitTest::GetInstance()->listeners().Release(
        ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  return RUN_ALL_TESTS();
}
