// Outputs that appear whole or not at all: StagedFiles and write_file_atomically.
#include "curate/util/atomic_file.h"

#include <gtest/gtest.h>

#include "curate/util/error.h"
#include "support/test_support.h"

namespace curate {
namespace {

using testing::read_file;
using testing::ScratchDir;
using testing::write_file;

TEST(AtomicFile, ReplacesWholeAndLeavesNoTemporary) {
  ScratchDir dir;
  write_file(dir / "out.txt", "old");
  write_file_atomically(dir / "out.txt", "new text");
  EXPECT_EQ(read_file(dir / "out.txt"), "new text");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.txt.tmp"));
}

TEST(AtomicFile, NothingIsReplacedUntilCommit) {
  ScratchDir dir;
  write_file(dir / "a", "old a");
  write_file(dir / "b", "old b");
  {
    StagedFiles files;
    files.write(dir / "a", "new a");
    files.write(dir / "b", "new b");
    EXPECT_EQ(read_file(dir / "a"), "old a");  // a failure here would leave the previous pair
  }                                            // not committed: temporaries removed
  EXPECT_EQ(read_file(dir / "a"), "old a");
  EXPECT_EQ(read_file(dir / "b"), "old b");
  EXPECT_FALSE(std::filesystem::exists(dir / "a.tmp"));
  StagedFiles files;
  files.write(dir / "a", "new a");
  write_file(files.stage(dir / "b"), "new b by another writer");
  files.commit();
  EXPECT_EQ(read_file(dir / "a"), "new a");
  EXPECT_EQ(read_file(dir / "b"), "new b by another writer");
}

TEST(AtomicFile, FailuresNameTheFile) {
  ScratchDir dir;
  EXPECT_THROW_WITH(write_file_atomically(dir / "missing" / "out.txt", "x"), StoreError, "out.txt.tmp",
                    "cannot create");
  StagedFiles files;
  files.write(dir / "a", "x");
  EXPECT_THROW_WITH(files.stage(dir / "a"), StoreError, "written twice");
}

}  // namespace
}  // namespace curate
