// Runs under mpirun (CTest label "mpi"); every rank runs the same tests.
#include "curate/dist/mpi.h"

#include <gtest/gtest.h>

#include "curate/dist/wire.h"

namespace curate::dist {
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

TEST(Mpi, ReceiveTimesOutAndBroadcastReachesAll) {
  Comm comm = Comm::world();
  EXPECT_FALSE(comm.receive(0.05).has_value());  // nobody sends
  EXPECT_EQ(comm.broadcast(comm.rank() == 0 ? "from rank 0" : "ignored"), "from rank 0");
  comm.barrier();
}

}  // namespace
}  // namespace curate::dist

int main(int argc, char** argv) {
  curate::dist::Environment environment(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rank = curate::dist::Comm::world().rank();
  if (rank != 0) {  // one report is enough; failures still set the exit code on every rank
    delete ::testing::UnitTest::GetInstance()->listeners().Release(
        ::testing::UnitTest::GetInstance()->listeners().default_result_printer());
  }
  return RUN_ALL_TESTS();
}
