// Fuzz entry point for the dm-multipath status line (core/dm_status.h): the
// kernel's text after every DM event and check round. Besides "does not
// crash", it checks what the engine relies on: a parsed status refers to the
// caller's storage only, groups cover their paths in order, every path names
// its group, next_group is a group or 0, and active_paths() counts within it.
#include <array>
#include <cstdint>
#include <string_view>

#include "core/dm_status.h"
#include "tests/fuzz/fuzz_check.h"

using pk::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pk::core;
  std::array<StatusGroup, 8> groups;
  std::array<StatusPath, 32> paths;
  MultipathStatus st;
  if (!pk::fuzz::parse_dm_text(parse_multipath_status, pk::fuzz::text(data, size), groups, paths, st))
    return 0;
  check(st.next_group <= st.groups.size());
  for (size_t g = 0; g < st.groups.size(); ++g) {
    const StatusGroup& grp = st.groups[g];
    for (size_t p = grp.first_path; p < grp.first_path + grp.path_count; ++p) check(st.paths[p].group == g);
  }
  check(st.active_paths() <= st.paths.size());
  return 0;
}
