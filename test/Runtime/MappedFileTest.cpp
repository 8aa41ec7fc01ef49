//===- MappedFileTest.cpp - Tests of read-only file mappings --------------===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/MappedFile.h"
#include "runtime/support/BusErrorReport.h"

#include "test/Unit/TestUtil.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include <unistd.h>

using namespace jikji;
using namespace jikji::runtime;
using jikji::test::TempDir;
using jikji::test::writeFile;

// Tests that a file maps with its contents and size.
TEST(MappedFileTest, MapsContents) {
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("a.bin"), "hello, weights"));
  Result<MappedFile> file = MappedFile::open(dir.file("a.bin"));
  ASSERT_TRUE(file.ok()) << file.error();
  ASSERT_EQ(file->size(), 14u);
  EXPECT_EQ(std::memcmp(file->data(), "hello, weights", 14), 0);
  EXPECT_TRUE(file->stillIntact());

  // Moving hands the mapping over; the moved-from object owns nothing.
  MappedFile moved = std::move(*file);
  EXPECT_EQ(moved.size(), 14u);
  EXPECT_EQ(file->data(), nullptr);
  EXPECT_FALSE(file->stillIntact());
  EXPECT_EQ(std::memcmp(moved.data(), "hello", 5), 0);
}

// Tests the refusals, each naming the path.
TEST(MappedFileTest, RefusesBadFiles) {
  TempDir dir;
  Result<MappedFile> missing = MappedFile::open(dir.file("missing.bin"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), dir.file("missing.bin") +
                                 ": cannot open: No such file or directory");

  ASSERT_TRUE(writeFile(dir.file("empty.bin"), ""));
  Result<MappedFile> empty = MappedFile::open(dir.file("empty.bin"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), dir.file("empty.bin") + ": file is empty");

  Result<MappedFile> folder = MappedFile::open(dir.path());
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error(), dir.path() + ": expected a regular file");
}

// Tests that a file shrinking under its mapping is detected (before anyone
// touches the lost pages, which would raise SIGBUS).
TEST(MappedFileTest, DetectsShrinking) {
  TempDir dir;
  std::string path = dir.file("w.bin");
  ASSERT_TRUE(writeFile(path, std::string(8192, 'x')));
  Result<MappedFile> file = MappedFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error();
  ASSERT_EQ(::truncate(path.c_str(), 100), 0);
  EXPECT_FALSE(file->stillIntact());
  Result<bool> intact = file->checkIntact();
  ASSERT_FALSE(intact.ok());
  EXPECT_EQ(intact.error(),
            path + ": file shrank while mapped: was 8192 bytes, now 100");

  // Growing is harmless: every mapped byte is still backed.
  ASSERT_EQ(::truncate(path.c_str(), 10000), 0);
  EXPECT_TRUE(file->stillIntact());
}

// Tests that, once a program asks for it, reading a mapped page whose file
// was cut ends the process with the message and exit code, not a signal.
TEST(MappedFileTest, BusErrorBecomesAMessage) {
  TempDir dir;
  std::string path = dir.file("w.bin");
  ASSERT_TRUE(writeFile(path, std::string(3 * 4096, 'x')));
  Result<MappedFile> file = MappedFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error();
  ASSERT_EQ(::truncate(path.c_str(), 100), 0);
  const volatile uint8_t *lost = file->data() + 2 * 4096;
  EXPECT_EXIT(
      {
        reportBusErrorsAndExit("test: error: SIGBUS: a mapped file was cut\n",
                               3);
        (void)*lost;
      },
      ::testing::ExitedWithCode(3),
      "test: error: SIGBUS: a mapped file was cut");
}
