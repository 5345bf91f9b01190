#include "core/dm_status.h"

#include "core/text.h"

namespace pk::core {

unsigned MultipathStatus::active_paths() const {
  unsigned n = 0;
  for (const StatusPath& p : paths) n += p.active ? 1 : 0;
  return n;
}

namespace {

ParseResult skip_words(Words& words, unsigned count, const char* what) {
  for (unsigned i = 0; i < count; ++i) {
    size_t at = words.offset();
    if (words.next().empty()) return ParseResult::error(what, at);
  }
  return ParseResult::ok();
}

bool parse_group_state(std::string_view word, GroupState& out) {
  if (word == "A")
    out = GroupState::Active;
  else if (word == "D")
    out = GroupState::Disabled;
  else if (word == "E")
    out = GroupState::Enabled;
  else
    return false;
  return true;
}

}  // namespace

ParseResult parse_multipath_status(std::string_view text, std::span<StatusGroup> group_store,
                                   std::span<StatusPath> path_store, MultipathStatus& out) {
  Words words(text);
  MultipathStatus s;

  size_t at = words.offset();
  unsigned feature_count = 0;
  if (!parse_uint(words.next(), feature_count) || feature_count < 2)
    return ParseResult::error("status feature count is not 2 or more", at);
  at = words.offset();
  unsigned queue_io = 0;
  if (!parse_uint(words.next(), queue_io)) return ParseResult::error("queue_io is not a number", at);
  s.queue_io = queue_io != 0;
  at = words.offset();
  if (!parse_uint(words.next(), s.pg_init_count))
    return ParseResult::error("pg_init_count is not a number", at);
  if (ParseResult r = skip_words(words, feature_count - 2, "status features are cut short"); !r) return r;

  at = words.offset();
  unsigned hw_args = 0;
  if (!parse_uint(words.next(), hw_args))
    return ParseResult::error("hardware handler count is not a number", at);
  if (ParseResult r = skip_words(words, hw_args, "hardware handler status is cut short"); !r) return r;

  at = words.offset();
  unsigned group_count = 0;
  if (!parse_uint(words.next(), group_count)) return ParseResult::error("group count is not a number", at);
  if (group_count > group_store.size()) return ParseResult::error("more path groups than the capacity", at);
  at = words.offset();
  if (!parse_uint(words.next(), s.next_group)) return ParseResult::error("next group is not a number", at);
  // The kernel names one of the groups, or 0 when there is none.
  if (s.next_group > group_count) return ParseResult::error("next group is not one of the groups", at);

  size_t path_count = 0;
  for (unsigned g = 0; g < group_count; ++g) {
    StatusGroup& group = group_store[g];
    at = words.offset();
    if (!parse_group_state(words.next(), group.state))
      return ParseResult::error("group state is not A, D or E", at);
    at = words.offset();
    unsigned selector_args = 0;
    if (!parse_uint(words.next(), selector_args))
      return ParseResult::error("selector status count is not a number", at);
    if (ParseResult r = skip_words(words, selector_args, "selector status is cut short"); !r) return r;

    unsigned paths = 0, info_args = 0;
    at = words.offset();
    if (!parse_uint(words.next(), paths)) return ParseResult::error("path count is not a number", at);
    at = words.offset();
    if (!parse_uint(words.next(), info_args))
      return ParseResult::error("path info count is not a number", at);
    if (path_count + paths > path_store.size()) return ParseResult::error("more paths than the capacity", at);

    group.first_path = static_cast<uint16_t>(path_count);
    group.path_count = static_cast<uint16_t>(paths);
    for (unsigned p = 0; p < paths; ++p) {
      StatusPath& path = path_store[path_count++];
      path.group = static_cast<uint16_t>(g);
      at = words.offset();
      if (!parse_devt(words.next(), path.devt)) return ParseResult::error("path is not major:minor", at);
      at = words.offset();
      std::string_view state = words.next();
      if (state != "A" && state != "F") return ParseResult::error("path state is not A or F", at);
      path.active = state == "A";
      at = words.offset();
      if (!parse_uint(words.next(), path.fail_count))
        return ParseResult::error("fail count is not a number", at);
      if (ParseResult r = skip_words(words, info_args, "path selector info is cut short"); !r) return r;
    }
  }
  if (!words.done()) return ParseResult::error("unexpected words after the last path", words.offset());

  s.groups = group_store.first(group_count);
  s.paths = path_store.first(path_count);
  out = s;
  return ParseResult::ok();
}

}  // namespace pk::core
