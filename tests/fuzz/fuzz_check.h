// What the fuzz entry points share. check() aborts, which libFuzzer and the
// driver (driver_main.cpp) report with the input that did it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace pk::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

// The input bytes as text.
inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A parser's refusal (core::ParseResult): it says what is wrong, and where
// in the input.
template <typename Result>
void check_refusal(const Result& r, std::string_view input) {
  check(r.what != nullptr && r.what[0] != '\0');
  check(r.offset <= input.size());
}

// A DM table or status parser (core/dm_table.h, core/dm_status.h) run on
// `input` with the caller's storage: a refusal says what and where; a parsed
// value refers to that storage only, and its groups cover its paths in order,
// each path once. Returns whether it parsed.
template <typename Parse, typename GroupStore, typename PathStore, typename Out>
bool parse_dm_text(Parse parse, std::string_view input, GroupStore& groups, PathStore& paths, Out& out) {
  auto r = parse(input, groups, paths, out);
  if (!r) {
    check_refusal(r, input);
    return false;
  }
  check(out.groups.size() <= groups.size() && out.paths.size() <= paths.size());
  check(out.groups.empty() || out.groups.data() == groups.data());
  check(out.paths.empty() || out.paths.data() == paths.data());
  size_t next = 0;
  for (const auto& g : out.groups) {
    check(g.first_path == next);
    next += g.path_count;
  }
  check(next == out.paths.size());
  return true;
}

}  // namespace pk::fuzz
