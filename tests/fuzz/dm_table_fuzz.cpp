// Fuzz entry point for the dm-multipath table (core/dm_table.h) as the kernel
// reports it, read when a map is adopted. Besides "does not crash", it checks
// that a parsed table refers to the caller's storage and the input only, that
// formatting it and parsing that again gives the same topology, and that a
// table is the same topology as itself.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/dm_table.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pk::core;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::array<TableGroup, 8> groups;
  std::array<DevT, 32> paths;
  MultipathTable t;
  ParseResult r = parse_multipath_table(text, groups, paths, t);
  if (!r) {
    check(r.what != nullptr && r.what[0] != '\0');
    check(r.offset <= text.size());
    return 0;
  }
  check(t.groups.size() <= groups.size() && t.paths.size() <= paths.size());
  if (!t.hw_handler.empty())
    check(t.hw_handler.data() >= text.data() &&
          t.hw_handler.data() + t.hw_handler.size() <= text.data() + size);
  size_t next_path = 0;
  for (const TableGroup& g : t.groups) {
    check(g.first_path == next_path);
    next_path += g.path_count;
  }
  check(next_path == t.paths.size());
  check(same_topology(t, t));

  // What the daemon would write for it parses back to the same topology.
  char out[4096];
  size_t n = format_multipath_table(t, out);
  if (n == 0) return 0;  // not a table the daemon builds (e.g. no group), or too long
  check(n <= sizeof out);
  std::array<TableGroup, 8> groups2;
  std::array<DevT, 32> paths2;
  MultipathTable again;
  check(static_cast<bool>(parse_multipath_table({out, n}, groups2, paths2, again)));
  check(same_topology(t, again));
  return 0;
}
