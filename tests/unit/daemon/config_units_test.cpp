#include "daemon/config/config_units.h"

#include <gtest/gtest.h>

#include <string>

#include "core/device_rules.h"

using namespace pk::daemon;
using std::chrono::milliseconds;

namespace {

// The value, or the reason it was refused prefixed with "error: ".
std::string duration_text(std::string_view text) {
  milliseconds d{-1};
  std::string why;
  if (!parse_duration(text, d, why)) return "error: " + why;
  return std::to_string(d.count()) + "ms";
}

std::string size_text(std::string_view text) {
  uint64_t v = 0;
  std::string why;
  if (!parse_size(text, v, why)) return "error: " + why;
  return std::to_string(v);
}

std::string glob(std::string_view text) {
  std::string why;
  return check_glob(text, why) ? "ok" : why;
}

}  // namespace

TEST(ConfigUnits, DurationsInEveryUnit) {
  EXPECT_EQ(duration_text("500ms"), "500ms");
  EXPECT_EQ(duration_text("5s"), "5000ms");
  EXPECT_EQ(duration_text("2m"), "120000ms");
  EXPECT_EQ(duration_text("1h"), "3600000ms");
  EXPECT_EQ(duration_text("30"), "30000ms");  // a bare number is seconds
  EXPECT_EQ(duration_text("0"), "0ms");
  EXPECT_EQ(duration_text("007s"), "7000ms");
}

TEST(ConfigUnits, DurationsRefusedWithTheReason) {
  EXPECT_EQ(duration_text(""), "error: is empty; write for example 5s");
  EXPECT_EQ(duration_text("-5s"), "error: '-5s' is negative");
  EXPECT_EQ(duration_text("+5s"), "error: '+5s' must start with a digit, as in 5s");
  EXPECT_EQ(duration_text("s"), "error: 's' is not a number with a unit, such as 5s");
  EXPECT_EQ(duration_text("1.5s"), "error: '1.5s' has a fraction; use a whole number of a smaller unit");
  EXPECT_EQ(duration_text("5 s"), "error: '5 s' has a space before its unit; write it without, as in 5s");
  EXPECT_EQ(duration_text("5sec"),
            "error: '5sec' has an unknown unit 'sec'; use ms, s, m or h (a bare number means seconds)");
  EXPECT_EQ(duration_text("5S"),
            "error: '5S' has an unknown unit 'S'; use ms, s, m or h (a bare number means seconds)");
  EXPECT_EQ(duration_text("1m30s"),
            "error: '1m30s' combines units; write a single number and unit (e.g. 90s for 1m30s)");
  EXPECT_EQ(duration_text("99999999999999999999s"), "error: '99999999999999999999s' is too large");
  EXPECT_EQ(duration_text("1000000000h"), "error: '1000000000h' is too large");
}

TEST(ConfigUnits, DurationsFormatInTheLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(5000)), "5s");
  EXPECT_EQ(format_duration(milliseconds(300000)), "5m");
  EXPECT_EQ(format_duration(milliseconds(7200000)), "2h");
  EXPECT_EQ(format_duration(milliseconds(90000)), "90s");
  for (long ms : {1L, 999L, 1000L, 61000L, 3600000L, 86399000L}) {
    EXPECT_EQ(duration_text(format_duration(milliseconds(ms))), std::to_string(ms) + "ms");
  }
}

TEST(ConfigUnits, SizesInBinaryUnits) {
  EXPECT_EQ(size_text("4096"), "4096");
  EXPECT_EQ(size_text("10B"), "10");
  EXPECT_EQ(size_text("64KiB"), "65536");
  EXPECT_EQ(size_text("16MiB"), "16777216");
  EXPECT_EQ(size_text("1GiB"), "1073741824");
  EXPECT_EQ(size_text("2TiB"), "2199023255552");
  EXPECT_EQ(format_size(16u << 20), "16MiB");
  EXPECT_EQ(format_size(1000), "1000B");
  EXPECT_EQ(format_size(3ull << 30), "3GiB");
  EXPECT_EQ(format_size(1536), "1536B");
  EXPECT_EQ(size_text(format_size(1536)), "1536");
}

TEST(ConfigUnits, SizesRefusedWithTheReason) {
  EXPECT_EQ(size_text("16MB"), "error: '16MB': the unit 'MB' is ambiguous; write MiB (powers of 1024)");
  EXPECT_EQ(size_text("16M"), "error: '16M': the unit 'M' is ambiguous; write MiB (powers of 1024)");
  EXPECT_EQ(size_text("1k"), "error: '1k': the unit 'k' is ambiguous; write KiB (powers of 1024)");
  EXPECT_EQ(size_text("16mib"), "error: '16mib': units are case-sensitive; write MiB");
  EXPECT_EQ(size_text("16 MiB"),
            "error: '16 MiB' has a space before its unit; write it without, as in 16MiB");
  EXPECT_EQ(size_text("1.5GiB"), "error: '1.5GiB' has a fraction; use a whole number of a smaller unit");
  EXPECT_EQ(size_text("5 bytes"),
            "error: '5 bytes' has a space before its unit; write it without, as in 16MiB");
  EXPECT_EQ(
      size_text("5PiB"),
      "error: '5PiB' has an unknown unit 'PiB'; use B, KiB, MiB, GiB or TiB (a bare number means bytes)");
  EXPECT_EQ(size_text("20000000TiB"), "error: '20000000TiB' is too large");
  EXPECT_EQ(size_text("-1"), "error: '-1' is negative");
}

TEST(ConfigUnits, GlobsAccepted) {
  for (std::string_view p : {"*", "sd*", "loop?", "nvme[0-9]n[0-9]*", "[!a-c]x", "[^a]", "[]]", "[!]]",
                             "[]-a]", "[*]", "[[]", "3600a0980*", "ID_ATA", "[a-]", "[-a]", "x[:]"}) {
    EXPECT_EQ(glob(p), "ok") << p;
  }
}

// What check_glob accepts means what the daemon's matcher does with it.
TEST(ConfigUnits, AcceptedGlobsMeanWhatTheMatcherDoes) {
  struct Case {
    std::string_view pattern, text;
    bool match;
  };
  for (const Case& c :
       {Case{"[*]", "*", true}, Case{"[*]", "a", false}, Case{"a[?]", "a?", true}, Case{"a[?]", "ab", false},
        Case{"[[]x", "[x", true}, Case{"[]]", "]", true}, Case{"[!]]", "a", true}, Case{"[!]]", "]", false},
        Case{"[^a]", "a", false}, Case{"sd[a-c]", "sdb", true}, Case{"sd[a-c]", "sdd", false},
        Case{"[a-]", "-", true}, Case{"loop*", "loop12", true}, Case{"dm-*", "dm-3", true},
        Case{"dm-*", "sdm-3", false}}) {
    ASSERT_EQ(glob(c.pattern), "ok") << c.pattern;
    EXPECT_EQ(pk::core::glob_match(c.pattern, c.text), c.match) << c.pattern << " " << c.text;
  }
}

TEST(ConfigUnits, GlobsRefusedWithTheReason) {
  EXPECT_EQ(glob(""), "is empty; a pattern must match something (use \"*\" for anything)");
  EXPECT_EQ(glob("sd[a"),
            "has a '[' at character 3 that is not closed by ']' (a literal '[' is written [[])");
  EXPECT_EQ(glob("[]"), "has a '[' at character 1 that is not closed by ']' (a literal '[' is written [[])");
  EXPECT_EQ(glob("sd[z-a]"),
            "has the range 'z-a' at character 4, which is empty (its end comes before its start)");
  EXPECT_EQ(
      glob("[[:digit:]]"),
      "has a character class at character 2; classes such as [:digit:] are not supported, write a range such "
      "as [0-9]");
  EXPECT_EQ(
      glob("a\\*b"),
      "has a '\\' at character 2; backslash escapes are not supported, a set matches a special character "
      "literally: [*] [?] [[]");
  EXPECT_EQ(glob("sd\ta"), "has a control character at character 3");
}

TEST(ConfigUnits, Utf8Validation) {
  size_t bad = 99;
  EXPECT_TRUE(valid_utf8("plain ascii", bad));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", bad));
  EXPECT_FALSE(valid_utf8("ab\xff", bad));
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(valid_utf8("a\xc3", bad));  // cut short
  EXPECT_EQ(bad, 1u);
  EXPECT_FALSE(valid_utf8("\xc0\xaf", bad));  // overlong '/'
  EXPECT_EQ(bad, 0u);
  EXPECT_FALSE(valid_utf8("x\xed\xa0\x80", bad));  // a surrogate
  EXPECT_EQ(bad, 1u);
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80", bad));  // above U+10FFFF
  EXPECT_EQ(bad, 0u);
}

TEST(ConfigUnits, EchoedValuesAreClipped) {
  EXPECT_EQ(clip("short"), "short");
  EXPECT_EQ(quoted("short"), "'short'");
  EXPECT_EQ(clip(std::string(64, 'x')), std::string(64, 'x'));
  EXPECT_EQ(clip(std::string(100, 'x')), std::string(64, 'x') + "...");
  EXPECT_EQ(duration_text(std::string(200, '9') + "s"),
            "error: '" + std::string(64, '9') + "...' is too large");
}
