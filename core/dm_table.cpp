#include "core/dm_table.h"

#include <algorithm>

#include "core/text.h"

namespace pk::core {

namespace {

// Per-path arguments written for each selector. service-time is read back by
// the kernel with two (repeat_count, relative_throughput); round-robin and
// queue-length take a repeat count, 1 so that every request is balanced.
std::string_view per_path_args(Selector s) {
  switch (s) {
    case Selector::ServiceTime:
      return "1 1";
    case Selector::RoundRobin:
    case Selector::QueueLength:
      return "1";
  }
  return "";
}

unsigned per_path_arg_count(Selector s) { return s == Selector::ServiceTime ? 2 : 1; }

unsigned feature_word_count(const TableFeatures& f) {
  return (f.queue_if_no_path ? 1 : 0) + (f.retain_attached_hw_handler ? 1 : 0) + (f.pg_init_retries ? 2 : 0) +
         (f.pg_init_delay_msecs ? 2 : 0) + (f.queue_mode_bio ? 2 : 0);
}

bool groups_cover_paths(const MultipathTable& t) {
  size_t next = 0;
  for (const TableGroup& g : t.groups) {
    if (g.first_path != next || g.path_count == 0) return false;
    next += g.path_count;
  }
  return next == t.paths.size();
}

}  // namespace

std::string_view selector_name(Selector s) {
  switch (s) {
    case Selector::ServiceTime:
      return "service-time";
    case Selector::RoundRobin:
      return "round-robin";
    case Selector::QueueLength:
      return "queue-length";
  }
  return "";
}

bool parse_selector(std::string_view name, Selector& out) {
  for (Selector s : {Selector::ServiceTime, Selector::RoundRobin, Selector::QueueLength}) {
    if (name == selector_name(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

size_t format_multipath_table(const MultipathTable& t, std::span<char> out) {
  if (t.groups.empty() || !groups_cover_paths(t)) return 0;
  if (t.initial_group < 1 || t.initial_group > t.groups.size()) return 0;

  FixedWriter w(out);
  const TableFeatures& f = t.features;
  w.number(feature_word_count(f));
  if (f.queue_if_no_path) w.text(" queue_if_no_path");
  if (f.retain_attached_hw_handler) w.text(" retain_attached_hw_handler");
  if (f.pg_init_retries) w.text(" pg_init_retries ").number(f.pg_init_retries);
  if (f.pg_init_delay_msecs) w.text(" pg_init_delay_msecs ").number(f.pg_init_delay_msecs);
  if (f.queue_mode_bio) w.text(" queue_mode bio");

  if (t.hw_handler.empty()) {
    w.text(" 0");
  } else {
    w.text(" 1 ").text(t.hw_handler);
  }
  w.ch(' ').number(t.groups.size()).ch(' ').number(t.initial_group);

  for (const TableGroup& g : t.groups) {
    w.ch(' ').text(selector_name(g.selector)).text(" 0 ");
    w.number(g.path_count).ch(' ').number(per_path_arg_count(g.selector));
    for (const DevT& p : t.paths.subspan(g.first_path, g.path_count)) {
      w.ch(' ').number(p.major).ch(':').number(p.minor).ch(' ').text(per_path_args(g.selector));
    }
  }
  return w.overflowed() ? 0 : w.size();
}

namespace {

// Reads "<count> <words...>" feature arguments.
ParseResult parse_features(Words& words, TableFeatures& f) {
  size_t at = words.offset();
  unsigned count = 0;
  if (!parse_uint(words.next(), count)) return ParseResult::error("feature count is not a number", at);
  for (unsigned i = 0; i < count; ++i) {
    at = words.offset();
    std::string_view word = words.next();
    if (word == "queue_if_no_path") {
      f.queue_if_no_path = true;
    } else if (word == "retain_attached_hw_handler") {
      f.retain_attached_hw_handler = true;
    } else if (word == "pg_init_retries" || word == "pg_init_delay_msecs") {
      uint32_t& value = word == "pg_init_retries" ? f.pg_init_retries : f.pg_init_delay_msecs;
      at = words.offset();
      if (++i >= count || !parse_uint(words.next(), value))
        return ParseResult::error("feature value is missing or not a number", at);
    } else if (word == "queue_mode") {
      at = words.offset();
      std::string_view mode = words.next();
      if (++i >= count || mode.empty()) return ParseResult::error("queue_mode has no value", at);
      f.queue_mode_bio = mode == "bio";
    } else {
      return ParseResult::error(word.empty() ? "feature list is cut short" : "unknown feature", at);
    }
  }
  return ParseResult::ok();
}

ParseResult parse_hw_handler(Words& words, std::string_view& handler) {
  size_t at = words.offset();
  unsigned count = 0;
  if (!parse_uint(words.next(), count))
    return ParseResult::error("hardware handler count is not a number", at);
  handler = {};
  for (unsigned i = 0; i < count; ++i) {
    at = words.offset();
    std::string_view word = words.next();
    if (word.empty()) return ParseResult::error("hardware handler arguments are cut short", at);
    if (i == 0) handler = word;  // handler arguments beyond the name are not kept
  }
  return ParseResult::ok();
}

ParseResult skip_words(Words& words, unsigned count, const char* what) {
  for (unsigned i = 0; i < count; ++i) {
    size_t at = words.offset();
    if (words.next().empty()) return ParseResult::error(what, at);
  }
  return ParseResult::ok();
}

}  // namespace

ParseResult parse_multipath_table(std::string_view text, std::span<TableGroup> group_store,
                                  std::span<DevT> path_store, MultipathTable& out) {
  Words words(text);
  MultipathTable t;
  TableFeatures features;
  if (ParseResult r = parse_features(words, features); !r) return r;
  t.features = features;
  if (ParseResult r = parse_hw_handler(words, t.hw_handler); !r) return r;

  size_t at = words.offset();
  unsigned group_count = 0;
  if (!parse_uint(words.next(), group_count)) return ParseResult::error("group count is not a number", at);
  if (group_count > group_store.size()) return ParseResult::error("more path groups than the capacity", at);
  at = words.offset();
  if (!parse_uint(words.next(), t.initial_group))
    return ParseResult::error("initial group is not a number", at);

  size_t path_count = 0;
  for (unsigned g = 0; g < group_count; ++g) {
    TableGroup& group = group_store[g];
    at = words.offset();
    if (!parse_selector(words.next(), group.selector)) return ParseResult::error("unknown path selector", at);
    at = words.offset();
    unsigned selector_args = 0;
    if (!parse_uint(words.next(), selector_args))
      return ParseResult::error("selector argument count is not a number", at);
    if (ParseResult r = skip_words(words, selector_args, "selector arguments are cut short"); !r) return r;

    unsigned paths = 0, path_args = 0;
    at = words.offset();
    if (!parse_uint(words.next(), paths) || paths == 0)
      return ParseResult::error("path count is not a positive number", at);
    at = words.offset();
    if (!parse_uint(words.next(), path_args))
      return ParseResult::error("per-path argument count is not a number", at);
    if (path_count + paths > path_store.size()) return ParseResult::error("more paths than the capacity", at);

    group.first_path = static_cast<uint16_t>(path_count);
    group.path_count = static_cast<uint16_t>(paths);
    for (unsigned p = 0; p < paths; ++p) {
      at = words.offset();
      if (!parse_devt(words.next(), path_store[path_count++]))
        return ParseResult::error("path is not major:minor", at);
      if (ParseResult r = skip_words(words, path_args, "per-path arguments are cut short"); !r) return r;
    }
  }
  if (!words.done()) return ParseResult::error("unexpected words after the last path", words.offset());
  if (group_count > 0 && (t.initial_group < 1 || t.initial_group > group_count))
    return ParseResult::error("initial group is out of range", 0);

  t.groups = group_store.first(group_count);
  t.paths = path_store.first(path_count);
  out = t;
  return ParseResult::ok();
}

bool same_topology(const MultipathTable& a, const MultipathTable& b) {
  return a.features == b.features && a.hw_handler == b.hw_handler &&
         std::equal(a.groups.begin(), a.groups.end(), b.groups.begin(), b.groups.end()) &&
         std::equal(a.paths.begin(), a.paths.end(), b.paths.begin(), b.paths.end());
}

}  // namespace pk::core
