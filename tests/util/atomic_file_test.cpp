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

TEST(AtomicFile, SymbolicLinksAreWrittenThroughAndKept) {
  ScratchDir dir;
  std::filesystem::create_directories(dir / "shared");
  write_file(dir / "shared" / "info.json", "shared old");
  std::filesystem::create_directories(dir / "run");
  std::filesystem::create_symlink("../shared/info.json", dir / "run" / "info.json");
  write_file_atomically(dir / "run" / "info.json", "shared new");
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "run" / "info.json"));  // the link stays
  EXPECT_EQ(read_file(dir / "shared" / "info.json"), "shared new");     // its target gets the content
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "info.json.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir / "shared" / "info.json.tmp"));
  // A dangling link gets its target created; two names of one file are one output.
  std::filesystem::create_symlink("made.txt", dir / "dangling");
  write_file_atomically(dir / "dangling", "made");
  EXPECT_EQ(read_file(dir / "made.txt"), "made");
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "dangling"));
  StagedFiles files;
  files.write(dir / "made.txt", "x");
  EXPECT_THROW_WITH(files.stage(dir / "dangling"), StoreError, "written twice");
}

TEST(AtomicFile, FoldersAndLinkedTemporariesAreNeverWrittenThrough) {
  ScratchDir dir;
  std::filesystem::create_directories(dir / "folder");
  EXPECT_THROW_WITH(write_file_atomically(dir / "folder", "x"), StoreError, "folder", "is a folder");
  std::filesystem::create_symlink("folder", dir / "to_folder");
  EXPECT_THROW_WITH(write_file_atomically(dir / "to_folder", "x"), StoreError, "a link to", "is a folder");
  write_file(dir / "precious", "user data");
  std::filesystem::create_symlink("precious", dir / "out.txt.tmp");  // a temporary name that links elsewhere
  write_file_atomically(dir / "out.txt", "new");
  EXPECT_EQ(read_file(dir / "precious"), "user data");
  EXPECT_EQ(read_file(dir / "out.txt"), "new");
}

}  // namespace
}  // namespace curate
