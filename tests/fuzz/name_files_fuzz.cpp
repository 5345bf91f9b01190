// Fuzz entry point for the name files pathkeeperd reads at start-up and that
// other tools (multipath-tools, an admin's editor, a restore from backup) may
// have written anything into: the bindings file and the wwids file. Besides
// "does not crash", it checks what the daemon relies on:
//   - the table holds only valid bindings, each alias and each WWID once,
//     in multipath-tools' alias order;
//   - every line is either kept, or reported with its number;
//   - the file written for the table reads back to the same table, with no
//     problem reported;
//   - the next free name is bound to nobody and is a friendly name;
//   - every WWID read formats to a line that reads back to it, and a wwids
//     file lacks none of its own WWIDs.
// Built as a libFuzzer target with -Dfuzz=true (clang) and, in every build,
// into fuzz_name_files_driver (driver_main.cpp). See README.md.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "core/bindings.h"
#include "core/wwids.h"

namespace {

using namespace pk::core;

void check(bool ok) {
  if (!ok) std::abort();
}

void bindings(std::string_view in) {
  BindingTable table;
  table.init(64);
  uint32_t last_line = 0;
  BindingsRead read = parse_bindings(in, table, [&](const BindingsProblem& p) {
    check(p.line >= 1 && p.line >= last_line);
    last_line = p.line;
    char text[512];
    check(!describe(p, text).empty());
  });
  check(read.bindings == table.size());
  check(read.lines == count_lines(in));
  auto e = table.entries();
  for (size_t i = 0; i < e.size(); ++i) {
    check(valid_alias(e[i].alias.view()) && !e[i].wwid.empty());
    if (i > 0) check(alias_before(e[i - 1].alias.view(), e[i].alias.view()));
    check(table.find_wwid(e[i].wwid.view()) == &e[i]);
  }
  std::vector<char> out(bindings_text_bound(table, table.size()));
  size_t n = format_bindings(table, out);
  check(n > 0);
  BindingTable again;
  again.init(64);
  bool problems = false;
  parse_bindings(std::string_view(out.data(), n), again, [&](const BindingsProblem&) { problems = true; });
  check(!problems && again.size() == table.size());
  for (size_t i = 0; i < e.size(); ++i)
    check(again.entries()[i].alias.view() == e[i].alias.view() &&
          again.entries()[i].wwid.view() == e[i].wwid.view());

  char name[64];
  std::string_view next = table.free_name(
      "mpath", [](std::string_view) { return false; }, name);
  check(!next.empty() && table.find_alias(next) == nullptr && friendly_id(next, "mpath") != 0);
}

void wwids(std::string_view in) {
  std::vector<std::string_view> found;
  parse_wwids(
      in,
      [&](std::string_view w, uint32_t) {
        found.push_back(w);
        char line[300];
        size_t n = format_wwid_line(w, line);
        check(n == w.size() + 3);
        bool same = false;
        parse_wwids(
            std::string_view(line, n), [&](std::string_view back, uint32_t) { same = back == w; },
            [](const WwidsProblem&) { check(false); });
        check(same);
      },
      [](const WwidsProblem& p) { check(p.line >= 1); });
  std::vector<char> out(in.size() + 16);
  bool fits = false;
  check(wwids_missing(in, in, out, fits) == 0 && fits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bindings(in);
  wwids(in);
  return 0;
}
