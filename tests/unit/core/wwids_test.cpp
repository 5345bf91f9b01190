// multipath-tools' wwids file: read line by line, written line by line, and
// merged so that what another tool wrote stays.
#include "core/wwids.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace pk::core;

namespace {

struct Read {
  std::vector<std::string> wwids;
  std::vector<uint32_t> wwid_lines, bad_lines;
  std::vector<std::string> why;
  WwidsRead result;
  explicit Read(std::string_view text) {
    result = parse_wwids(
        text,
        [&](std::string_view w, uint32_t line) {
          wwids.emplace_back(w);
          wwid_lines.push_back(line);
        },
        [&](const WwidsProblem& p) {
          bad_lines.push_back(p.line);
          why.emplace_back(p.what);
        });
  }
};

std::string missing(std::string_view existing, std::string_view wanted, size_t room = 1024) {
  std::vector<char> out(room);
  bool fits = false;
  size_t n = wwids_missing(existing, wanted, out, fits);
  return fits ? std::string(out.data(), n) : "(does not fit)";
}

}  // namespace

TEST(ParseWwids, MultipathToolsOwnFileIsReadWhole) {
  Read r(std::string(kWwidsHeader) + "/3600a/\n/3600b/\n");
  EXPECT_EQ(r.wwids, (std::vector<std::string>{"3600a", "3600b"}));
  EXPECT_EQ(r.wwid_lines, (std::vector<uint32_t>{6, 7}));
  EXPECT_TRUE(r.bad_lines.empty());
}

TEST(ParseWwids, CommentedLinesAreNoWwidAndBadLinesAreReportedWithTheirNumber) {
  Read r(
      "#/3600gone/\n"   // 1: removed by multipath -w
      "/3600a/ rest\n"  // 2: the rest is ignored, as multipath-tools does
      "/3600open\n"     // 3: no closing '/'
      "//\n"            // 4: empty
      "garbage \x01\n"  // 5: not a WWID line: a comment
      "/" +
      std::string(300, 'w') +
      "/\n"        // 6: too long
      "/3600b/");  // 7: no final newline
  EXPECT_EQ(r.wwids, (std::vector<std::string>{"3600a", "3600b"}));
  EXPECT_EQ(r.bad_lines, (std::vector<uint32_t>{3, 4, 6}));
  EXPECT_EQ(r.why[0], "no closing '/'");
  EXPECT_EQ(r.result.refused, 3u);
  EXPECT_EQ(r.result.lines, 7u);
}

TEST(FormatWwids, OneWwidBetweenSlashesPerLine) {
  char out[64];
  EXPECT_EQ(std::string(out, format_wwid_line("3600a", out)), "/3600a/\n");
  EXPECT_EQ(format_wwid_line("", out), 0u);
  EXPECT_EQ(format_wwid_line("a/b", out), 0u);
  EXPECT_EQ(format_wwid_line("3600a", std::span<char>(out, 7)), 0u);
}

TEST(WwidsMissing, OnlyWhatTheFileLacksIsAddedInOrder) {
  std::string file = std::string(kWwidsHeader) + "/3600a/\n#/3600c/\n";
  EXPECT_EQ(missing(file, "/3600a/\n/3600b/\n/3600c/\n"), "/3600b/\n/3600c/\n")
      << "a line commented out is no WWID on disk";
  EXPECT_EQ(missing(file, "/3600a/\n"), "");
  EXPECT_EQ(missing("", "/3600a/\n"), "/3600a/\n");
  EXPECT_EQ(missing("/3600ab/\n", "/3600a/\n"), "/3600a/\n") << "a prefix is another WWID";
  EXPECT_EQ(missing("", "/3600a/\n/3600b/\n", 10), "(does not fit)");
}

TEST(WwidSet, SortedOfFixedCapacity) {
  WwidSet s;
  s.init(2);
  EXPECT_EQ(s.add("3600b"), WwidSet::Outcome::Added);
  EXPECT_EQ(s.add("3600a"), WwidSet::Outcome::Added);
  EXPECT_EQ(s.add("3600a"), WwidSet::Outcome::Exists);
  EXPECT_EQ(s.add("3600c"), WwidSet::Outcome::Full);
  EXPECT_EQ(s.add("a/b"), WwidSet::Outcome::Invalid);
  EXPECT_TRUE(s.contains("3600a"));
  EXPECT_TRUE(s.contains("3600b"));
  EXPECT_FALSE(s.contains("3600c"));
}
