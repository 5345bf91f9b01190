// Fuzz entry point for the dm-multipath table (core/dm_table.h) as the kernel
// reports it, read when a map is adopted. Besides "does not crash", it checks
// that a parsed table refers to the caller's storage and the input only, that
// formatting it and parsing that again gives the same topology, and that a
// table is the same topology as itself.
#include <array>
#include <cstdint>
#include <string_view>

#include "core/dm_table.h"
#include "tests/fuzz/fuzz_check.h"

using pk::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pk::core;
  std::string_view text = pk::fuzz::text(data, size);
  std::array<TableGroup, 8> groups;
  std::array<DevT, 32> paths;
  MultipathTable t;
  if (!pk::fuzz::parse_dm_text(parse_multipath_table, text, groups, paths, t)) return 0;
  if (!t.hw_handler.empty())
    check(t.hw_handler.data() >= text.data() &&
          t.hw_handler.data() + t.hw_handler.size() <= text.data() + size);
  check(same_topology(t, t));

  // What the daemon would write for it parses back to the same topology.
  char out[4096];
  size_t n = format_multipath_table(t, out);
  if (n == 0) return 0;  // not a table the daemon builds (e.g. no group), or too long
  check(n <= sizeof out);
  std::array<TableGroup, 8> groups2;
  std::array<DevT, 32> paths2;
  MultipathTable again;
  check(pk::fuzz::parse_dm_text(parse_multipath_table, {out, n}, groups2, paths2, again));
  check(same_topology(t, again));
  return 0;
}
