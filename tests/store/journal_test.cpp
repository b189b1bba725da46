// The journal and the run lock never take over a file they did not make (issue 27): a user's file
// under their name is refused and left byte for byte.
#include "curate/store/journal.h"

#include <gtest/gtest.h>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate::store {
namespace {

using curate::testing::read_file;
using curate::testing::ScratchDir;
using curate::testing::write_file;

TEST(Journal, AForeignFileIsRefusedAndKept) {
  ScratchDir dir;
  write_file(dir / "run.h5.journal", "the user's notes\n");
  EXPECT_FALSE(is_journal(dir / "run.h5.journal"));
  EXPECT_THROW_WITH(Journal(dir / "run.h5.journal"), ConfigError, "run.h5.journal exists and is not a journal",
                    "left as it is");
  EXPECT_EQ(read_file(dir / "run.h5.journal"), "the user's notes\n");
  // Its own journal, whole or cut while its magic was written, is one.
  { Journal journal(dir / "own.journal"); }
  EXPECT_TRUE(is_journal(dir / "own.journal"));
  write_file(dir / "cut.journal", read_file(dir / "own.journal").substr(0, 3));
  EXPECT_TRUE(is_journal(dir / "cut.journal"));
  Journal reopened(dir / "cut.journal");
}

TEST(RunLock, AForeignFileIsRefusedAndKept) {
  ScratchDir dir;
  write_file(dir / "run.h5.lock", "the user's notes\n");
  EXPECT_THROW_WITH(RunLock(dir / "run.h5.lock"), ConfigError, "run.h5.lock exists and is not a lock file");
  EXPECT_EQ(read_file(dir / "run.h5.lock"), "the user's notes\n");
  write_file(dir / "old.lock", "");  // left by an older run: empty
  {
    RunLock lock(dir / "old.lock");
    EXPECT_TRUE(is_lock_file(dir / "old.lock"));
    EXPECT_FALSE(read_file(dir / "old.lock").empty());  // marked as this code's
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "old.lock"));  // removed on release
}

}  // namespace
}  // namespace curate::store
