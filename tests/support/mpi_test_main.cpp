// main() of the one-rank MPI gtests (a singleton MPI process, no mpirun): MPI only when tests run;
// listing them (CTest's discovery, also under LeakSanitizer without the sanitizer script's Open MPI
// suppressions) starts no MPI.
#include <gtest/gtest.h>

#include "curate/comm/mpi.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  curate::comm::Environment environment(argc, argv);
  return RUN_ALL_TESTS();
}
