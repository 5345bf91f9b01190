// Fuzz entry point for the dm-multipath status line (core/dm_status.h): the
// kernel's text after every DM event and check round. Besides "does not
// crash", it checks what the engine relies on: a parsed status refers to the
// caller's storage only, groups cover their paths in order, every path names
// its group, next_group is a group or 0, and active_paths() counts within it.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/dm_status.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pk::core;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::array<StatusGroup, 8> groups;
  std::array<StatusPath, 32> paths;
  MultipathStatus st;
  ParseResult r = parse_multipath_status(text, groups, paths, st);
  if (!r) {
    check(r.what != nullptr && r.what[0] != '\0');
    check(r.offset <= text.size());
    return 0;
  }
  check(st.groups.size() <= groups.size() && st.paths.size() <= paths.size());
  check(st.groups.empty() || st.groups.data() == groups.data());
  check(st.paths.empty() || st.paths.data() == paths.data());
  check(st.next_group <= st.groups.size());
  size_t next_path = 0;
  for (size_t g = 0; g < st.groups.size(); ++g) {
    const StatusGroup& grp = st.groups[g];
    check(grp.first_path == next_path);
    next_path += grp.path_count;
    for (size_t p = grp.first_path; p < next_path; ++p) check(p < st.paths.size() && st.paths[p].group == g);
  }
  check(next_path == st.paths.size());
  check(st.active_paths() <= st.paths.size());
  return 0;
}
