// Friendly names as multipath-tools gives them, and its bindings file read
// line by line: comments, foreign and corrupt lines, conflicts.
#include "core/bindings.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/heap_guard.h"

using namespace pk::core;

namespace {

constexpr std::string_view kA = "3600140500000000000000000000000a1";
constexpr std::string_view kB = "3600140500000000000000000000000b2";
constexpr std::string_view kC = "3600140500000000000000000000000c3";

auto nothing_taken = [](std::string_view) { return false; };

struct Read {
  BindingTable table;
  std::vector<BindingsProblem::Kind> kinds;
  std::vector<uint32_t> lines;
  std::vector<std::string> messages;
  BindingsRead result;

  explicit Read(std::string_view text, size_t capacity = 16) {
    table.init(capacity);
    char buf[512];
    result = parse_bindings(text, table, [&](const BindingsProblem& p) {
      kinds.push_back(p.kind);
      lines.push_back(p.line);
      messages.emplace_back(describe(p, buf));
    });
  }
  std::string alias_of(std::string_view wwid) const {
    const Binding* b = table.find_wwid(wwid);
    return b ? std::string(b->alias.view()) : "";
  }
};

std::string next_name(const BindingTable& t, std::string_view prefix = "mpath") {
  char out[64];
  return std::string(t.free_name(prefix, nothing_taken, out));
}

}  // namespace

// ------------------------------------------------------------ names

TEST(FriendlyName, LettersCountInBijectiveBase26) {
  char out[32];
  EXPECT_EQ(friendly_name(1, "mpath", out), "mpatha");
  EXPECT_EQ(friendly_name(26, "mpath", out), "mpathz");
  EXPECT_EQ(friendly_name(27, "mpath", out), "mpathaa");
  EXPECT_EQ(friendly_name(52, "mpath", out), "mpathaz");
  EXPECT_EQ(friendly_name(53, "mpath", out), "mpathba");
  EXPECT_EQ(friendly_name(702, "mpath", out), "mpathzz");
  EXPECT_EQ(friendly_name(703, "mpath", out), "mpathaaa");
  EXPECT_EQ(friendly_name(0, "mpath", out), "");
  for (uint32_t id : {1u, 26u, 27u, 702u, 703u, 18278u, 18279u, 2147483647u})
    EXPECT_EQ(friendly_id(friendly_name(id, "mpath", out), "mpath"), id) << id;
}

TEST(FriendlyName, OnlyPrefixAndLowercaseLettersAreAFriendlyName) {
  EXPECT_EQ(friendly_id("mpathc", "mpath"), 3u);
  EXPECT_EQ(friendly_id("mpath", "mpath"), 0u);
  EXPECT_EQ(friendly_id("mpathC", "mpath"), 0u);
  EXPECT_EQ(friendly_id("mpath1", "mpath"), 0u);
  EXPECT_EQ(friendly_id("oradata", "mpath"), 0u);
  EXPECT_EQ(friendly_id("mpathaaaaaaaa", "mpath"), 0u) << "8 letters overflow multipath-tools' int";
  EXPECT_EQ(friendly_id("mpathzzzzzzz", "mpath"), 0u) << "past INT_MAX";
  EXPECT_EQ(friendly_id("sanb", "san"), 2u);
}

TEST(FriendlyName, AliasOrderIsShorterFirstThenBytes) {
  EXPECT_TRUE(alias_before("mpathz", "mpathaa"));
  EXPECT_TRUE(alias_before("mpatha", "mpathb"));
  EXPECT_FALSE(alias_before("mpathb", "mpatha"));
}

// ------------------------------------------------------------ the allocator

TEST(FreeName, AnEmptyTableStartsAtA) {
  BindingTable t;
  t.init(4);
  EXPECT_EQ(next_name(t), "mpatha");
  EXPECT_EQ(next_name(t, "san"), "sana");
}

TEST(FreeName, TheLowestFreeNameFillsGapsWhateverTheOrderOfTheFile) {
  EXPECT_EQ(next_name(Read("mpatha A\nmpathb B\n").table), "mpathc");
  EXPECT_EQ(next_name(Read("mpatha A\nmpathc C\n").table), "mpathb");
  EXPECT_EQ(next_name(Read("mpathc C\nmpatha A\n").table), "mpathb");
  // multipath-tools before 0.9.6 gave mpathe here (an unsorted scan); the
  // sorted table gives the gap, as multipath-tools does now.
  EXPECT_EQ(next_name(Read("mpathd D\nmpathb B\nmpatha A\n").table), "mpathc");
  EXPECT_EQ(next_name(Read("mpathb B\n").table), "mpatha");
}

TEST(FreeName, AfterZComesAa) {
  BindingTable t;
  t.init(64);
  char name[16];
  for (uint32_t id = 1; id <= 26; ++id) {
    std::string wwid = "w" + std::to_string(id);
    ASSERT_EQ(t.add(friendly_name(id, "mpath", name), wwid).outcome, BindingTable::Outcome::Added);
  }
  EXPECT_EQ(next_name(t), "mpathaa");
  t.add("mpathaa", "w27");
  t.remove_wwid("w5");
  EXPECT_EQ(next_name(t), "mpathe") << "a name unbound is free again";
}

TEST(FreeName, OtherPrefixesAndAliasesAreNoGapAndNoObstacle) {
  Read r("oradata A\nmpatha B\nsana C\nmpathAB D\n");
  EXPECT_EQ(next_name(r.table), "mpathb");
  EXPECT_EQ(next_name(r.table, "san"), "sanb");
}

TEST(FreeName, ANameTakenElsewhereIsSkipped) {
  Read r("mpatha A\nmpathd D\n");
  char out[32];
  auto dm_has_b_and_c = [](std::string_view n) { return n == "mpathb" || n == "mpathc"; };
  EXPECT_EQ(r.table.free_name("mpath", dm_has_b_and_c, out), "mpathe");
  auto dm_has_e = [](std::string_view n) { return n == "mpathe"; };
  EXPECT_EQ(r.table.free_name("mpath", dm_has_e, out), "mpathb");
}

TEST(FreeName, GivingANameAllocatesNothing) {
  BindingTable t;
  t.init(64);
  char out[32];
  pk::test::heap_guard::arm();
  for (int i = 0; i < 40; ++i) {
    char wwid[16];
    std::snprintf(wwid, sizeof wwid, "wwid%d", i);
    ASSERT_EQ(t.add(t.free_name("mpath", nothing_taken, out), wwid).outcome, BindingTable::Outcome::Added);
  }
  pk::test::heap_guard::disarm();
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
  EXPECT_EQ(t.find_wwid("wwid39")->alias.view(), "mpathan");
}

// ------------------------------------------------------------ the table

TEST(BindingTable, AnAliasOrAWwidIsBoundOnce) {
  BindingTable t;
  t.init(2);
  EXPECT_EQ(t.add("mpatha", kA).outcome, BindingTable::Outcome::Added);
  EXPECT_EQ(t.add("mpatha", kA).outcome, BindingTable::Outcome::Exists);
  BindingTable::AddResult r = t.add("mpatha", kB);
  EXPECT_EQ(r.outcome, BindingTable::Outcome::AliasTaken);
  EXPECT_EQ(r.other->wwid.view(), kA);
  r = t.add("mpathb", kA);
  EXPECT_EQ(r.outcome, BindingTable::Outcome::WwidBound);
  EXPECT_EQ(r.other->alias.view(), "mpatha");
  EXPECT_EQ(t.add("bad/name", kB).outcome, BindingTable::Outcome::Invalid);
  EXPECT_EQ(t.add("two words", kB).outcome, BindingTable::Outcome::Invalid);
  EXPECT_EQ(t.add("mpathb", kB).outcome, BindingTable::Outcome::Added);
  EXPECT_EQ(t.add("mpathc", kC).outcome, BindingTable::Outcome::Full);
  EXPECT_EQ(t.find_alias("mpathb")->wwid.view(), kB);
  EXPECT_EQ(t.find_alias("mpathc"), nullptr);
}

// ------------------------------------------------------------ the file

TEST(ParseBindings, MultipathToolsOwnFileIsReadWhole) {
  std::string text =
      std::string(kBindingsHeader) + "mpatha " + std::string(kA) + "\nmpathc " + std::string(kC) + "\n";
  Read r(text);
  EXPECT_TRUE(r.result.header);
  EXPECT_EQ(r.result.bindings, 2u);
  EXPECT_EQ(r.result.refused, 0u);
  EXPECT_TRUE(r.kinds.empty());
  EXPECT_EQ(r.alias_of(kA), "mpatha");
  EXPECT_EQ(r.alias_of(kC), "mpathc");
}

TEST(ParseBindings, CommentsBlanksTabsAndCarriageReturnsAreNoBinding) {
  Read r("# a comment\n\n   \nmpatha\tA # after it\r\n\t mpathb   B\r\n#mpathc C\n");
  EXPECT_FALSE(r.result.header);
  EXPECT_EQ(r.result.bindings, 2u);
  EXPECT_TRUE(r.kinds.empty());
  EXPECT_EQ(r.alias_of("A"), "mpatha");
  EXPECT_EQ(r.alias_of("B"), "mpathb");
  EXPECT_EQ(r.alias_of("C"), "");
}

TEST(ParseBindings, BadLinesAreReportedWithTheirNumberAndSkippedAndTheRestIsKept) {
  std::string long_alias(200, 'x');
  Read r(
      "mpatha A\n"
      "mpathb\n"       // 2: no WWID
      "bad/alias B\n"  // 3: '/' in the alias
      + long_alias +
      " C\n"                       // 4: too long
      "mpathd D trailing words\n"  // 5: kept, with a note
      "\x01\x02garbage\xff\n"      // 6: a foreign line: one word, no WWID
      "mpathe E");                 // 7: no final newline
  EXPECT_EQ(r.result.lines, 7u);
  EXPECT_EQ(r.result.bindings, 3u);
  EXPECT_EQ(r.result.refused, 4u);
  using K = BindingsProblem::Kind;
  EXPECT_EQ(r.kinds, (std::vector<K>{K::NoWwid, K::Invalid, K::Invalid, K::ExtraWords, K::NoWwid}));
  EXPECT_EQ(r.lines, (std::vector<uint32_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(r.messages[0], "line 2: alias mpathb has no WWID; skipped");
  EXPECT_EQ(r.alias_of("A"), "mpatha");
  EXPECT_EQ(r.alias_of("D"), "mpathd");
  EXPECT_EQ(r.alias_of("E"), "mpathe");
}

TEST(ParseBindings, AnAliasTakenTwiceIsRefusedNamingBothWwids) {
  Read r("mpatha A\nmpathb B\nmpatha C\n");
  ASSERT_EQ(r.kinds.size(), 1u);
  EXPECT_EQ(r.kinds[0], BindingsProblem::Kind::AliasTaken);
  EXPECT_EQ(r.messages[0],
            "line 3: alias mpatha is bound to WWID A (line 1) and to WWID C; the binding to C is refused");
  EXPECT_EQ(r.alias_of("A"), "mpatha") << "the first binding wins";
  EXPECT_EQ(r.alias_of("C"), "");
  EXPECT_EQ(r.result.refused, 1u);
}

TEST(ParseBindings, AWwidBoundTwiceIsRefusedNamingBothAliases) {
  Read r("mpathb B\nmpatha A\nmpathc A\n");
  ASSERT_EQ(r.kinds.size(), 1u);
  EXPECT_EQ(r.kinds[0], BindingsProblem::Kind::WwidBound);
  EXPECT_EQ(r.messages[0],
            "line 3: WWID A is bound to mpatha (line 2) and to mpathc; the alias mpathc is refused");
  EXPECT_EQ(r.alias_of("A"), "mpatha");
  EXPECT_EQ(next_name(r.table), "mpathc") << "the refused alias is free";
}

TEST(ParseBindings, TheSameLineTwiceLosesNothing) {
  Read r("mpatha A\nmpatha A\n");
  ASSERT_EQ(r.kinds.size(), 1u);
  EXPECT_EQ(r.kinds[0], BindingsProblem::Kind::Duplicate);
  BindingsProblem duplicate;
  duplicate.kind = BindingsProblem::Kind::Duplicate;
  EXPECT_FALSE(refused(duplicate));
  EXPECT_EQ(r.result.refused, 0u);
  EXPECT_EQ(r.table.size(), 1u);
}

TEST(ParseBindings, ATableTooSmallSaysWhichLinesItLeftOut) {
  Read r("mpatha A\nmpathb B\nmpathc C\n", 2);
  ASSERT_EQ(r.kinds.size(), 1u);
  EXPECT_EQ(r.kinds[0], BindingsProblem::Kind::Full);
  EXPECT_EQ(r.lines[0], 3u);
  EXPECT_EQ(count_lines("mpatha A\nmpathb B\nmpathc C\n"), 3u);
  EXPECT_EQ(count_lines("a b\nc d"), 2u);
  EXPECT_EQ(count_lines(""), 0u);
}

TEST(FormatBindings, TheHeaderThenOneLinePerBindingInAliasOrder) {
  Read r("mpathaa AA\nmpathc C\nmpatha A\noradata O\n");
  char out[1024];
  size_t n = format_bindings(r.table, out);
  EXPECT_EQ(std::string(out, n),
            std::string(kBindingsHeader) + "mpatha A\nmpathc C\nmpathaa AA\noradata O\n");
  Read again(std::string_view(out, n));
  EXPECT_TRUE(again.result.header);
  EXPECT_EQ(again.table.size(), 4u);
  EXPECT_TRUE(again.kinds.empty());
  EXPECT_EQ(format_bindings(r.table, std::span<char>(out, 40)), 0u) << "does not fit";
}

TEST(FormatBindings, TheBoundHoldsAFullTable) {
  BindingTable t;
  t.init(30);
  t.add("oradata", std::string(255, 'w'));
  const size_t bound = bindings_text_bound(t, t.capacity());
  std::vector<char> out(bound);
  char name[48];
  const std::string prefix(kMaxAliasPrefix, 'p');
  for (int i = 0; i < 29; ++i)
    t.add(t.free_name(prefix, nothing_taken, name), std::string(250, 'a') + std::to_string(i));
  EXPECT_EQ(t.size(), 30u);
  EXPECT_GT(format_bindings(t, out), 0u);
}
