#include "core/device_rules.h"

namespace pk::core {

namespace {

// Matches one character against a [set] starting at pattern[i] ('[').
// Returns the index after ']' or npos when the set is unterminated.
size_t match_set(std::string_view p, size_t i, char c, bool& matched) {
  size_t j = i + 1;
  bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
  if (negate) ++j;
  bool hit = false;
  bool first = true;
  for (; j < p.size() && (p[j] != ']' || first); ++j, first = false) {
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      // As bytes: a range of non-ASCII bytes means the same as in the loader.
      auto byte = [](char x) { return static_cast<unsigned char>(x); };
      hit = hit || (byte(c) >= byte(p[j]) && byte(c) <= byte(p[j + 2]));
      j += 2;
    } else {
      hit = hit || c == p[j];
    }
  }
  if (j >= p.size()) return std::string_view::npos;
  matched = hit != negate;
  return j + 1;
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative matcher with one backtrack point for the last '*': linear-ish,
  // no recursion, so hostile patterns cannot exhaust the stack.
  size_t pi = 0, ti = 0, star = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      star_t = ti;
      continue;
    }
    if (pi < p.size()) {
      if (p[pi] == '?') {
        ++pi;
        ++ti;
        continue;
      }
      if (p[pi] == '[') {
        bool matched = false;
        size_t next = match_set(p, pi, t[ti], matched);
        if (next != std::string_view::npos) {
          if (matched) {
            pi = next;
            ++ti;
            continue;
          }
        } else if (t[ti] == '[') {  // unterminated set: a literal '['
          ++pi;
          ++ti;
          continue;
        }
      } else if (p[pi] == t[ti]) {
        ++pi;
        ++ti;
        continue;
      }
    }
    if (star == std::string_view::npos) return false;
    pi = star + 1;
    ti = ++star_t;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool rule_matches(const DeviceRule& rule, const DeviceFacts& dev) {
  switch (rule.field) {
    case DeviceRule::Field::Devnode:
      return glob_match(rule.pattern, dev.devnode);
    case DeviceRule::Field::Wwid:
      return !dev.wwid.empty() && glob_match(rule.pattern, dev.wwid);
    case DeviceRule::Field::VendorProduct:
      return glob_match(rule.pattern, dev.vendor) &&
             (rule.product_pattern.empty() || glob_match(rule.product_pattern, dev.product));
    case DeviceRule::Field::Property:
      for (std::string_view name : dev.property_names)
        if (glob_match(rule.pattern, name)) return true;
      return false;
  }
  return false;
}

bool is_blacklisted(const std::vector<DeviceRule>& blacklist, const std::vector<DeviceRule>& exceptions,
                    const DeviceFacts& dev, const DeviceRule** why) {
  for (const DeviceRule& e : exceptions)
    if (rule_matches(e, dev)) return false;
  for (const DeviceRule& b : blacklist) {
    if (rule_matches(b, dev)) {
      if (why) *why = &b;
      return true;
    }
  }
  return false;
}

}  // namespace pk::core
