#include "daemon/config/config_units.h"

#include <array>
#include <cstddef>
#include <limits>

namespace pk::daemon {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads the leading digits of `text` into `value`. Returns the number of
// digits read, 0 when there is none; sets `overflow` when they exceed `max`.
size_t leading_number(std::string_view text, uint64_t max, uint64_t& value, bool& overflow) {
  size_t i = 0;
  value = 0;
  overflow = false;
  while (i < text.size() && is_digit(text[i])) {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (max - digit) / 10) overflow = true;
    if (!overflow) value = value * 10 + digit;
    ++i;
  }
  return i;
}

// Common checks of "<digits><unit>" text before the unit is looked at.
bool number_prefix(std::string_view text, std::string_view example, uint64_t max, uint64_t& value,
                   size_t& digits, std::string& why) {
  if (text.empty()) {
    why = "is empty; write for example " + std::string(example);
    return false;
  }
  if (text[0] == '-') {
    why = quoted(text) + " is negative";
    return false;
  }
  if (text[0] == '+' || text[0] == ' ') {
    why = quoted(text) + " must start with a digit, as in " + std::string(example);
    return false;
  }
  bool overflow = false;
  digits = leading_number(text, max, value, overflow);
  if (digits == 0) {
    why = quoted(text) + " is not a number with a unit, such as " + std::string(example);
    return false;
  }
  if (overflow) {
    why = quoted(text) + " is too large";
    return false;
  }
  std::string_view rest = text.substr(digits);
  if (!rest.empty() && (rest[0] == '.' || rest[0] == ',')) {
    why = quoted(text) + " has a fraction; use a whole number of a smaller unit";
    return false;
  }
  if (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t')) {
    why = quoted(text) + " has a space before its unit; write it without, as in " + std::string(example);
    return false;
  }
  return true;
}

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr uint64_t kMaxDurationMs = 1'000'000'000'000ull;  // about 31 years
constexpr std::array<Unit, 4> kDurationUnits{{{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};
constexpr std::array<Unit, 5> kSizeUnits{
    {{"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40}}};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string clip(std::string_view text) {
  constexpr size_t kMax = 64;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

std::string quoted(std::string_view text) { return "'" + clip(text) + "'"; }

bool parse_duration(std::string_view text, std::chrono::milliseconds& out, std::string& why) {
  uint64_t value = 0;
  size_t digits = 0;
  if (!number_prefix(text, "5s", kMaxDurationMs, value, digits, why)) return false;
  std::string_view unit = text.substr(digits);
  uint64_t factor = 1000;  // a bare number is seconds
  if (!unit.empty()) {
    size_t unit_len = 0;
    while (unit_len < unit.size() && !is_digit(unit[unit_len])) ++unit_len;
    std::string_view name = unit.substr(0, unit_len);
    const Unit* found = nullptr;
    for (const Unit& u : kDurationUnits) {
      if (u.name == name) found = &u;
    }
    if (found == nullptr) {
      why = quoted(text) + " has an unknown unit '" + std::string(name) +
            "'; use ms, s, m or h (a bare number means seconds)";
      return false;
    }
    if (unit_len != unit.size()) {
      why = quoted(text) + " combines units; write a single number and unit (e.g. 90s for 1m30s)";
      return false;
    }
    factor = found->factor;
  }
  if (value > kMaxDurationMs / factor) {
    why = quoted(text) + " is too large";
    return false;
  }
  out = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(value * factor));
  return true;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = static_cast<uint64_t>(d.count() < 0 ? 0 : d.count());
  if (ms == 0) return "0s";
  for (size_t i = kDurationUnits.size(); i-- > 0;) {
    if (ms % kDurationUnits[i].factor == 0) {
      return std::to_string(ms / kDurationUnits[i].factor) + std::string(kDurationUnits[i].name);
    }
  }
  return std::to_string(ms) + "ms";
}

bool parse_size(std::string_view text, uint64_t& out, std::string& why) {
  uint64_t value = 0;
  size_t digits = 0;
  if (!number_prefix(text, "16MiB", std::numeric_limits<uint64_t>::max(), value, digits, why)) return false;
  std::string_view unit = text.substr(digits);
  uint64_t factor = 1;
  if (!unit.empty()) {
    const Unit* found = nullptr;
    for (const Unit& u : kSizeUnits) {
      if (u.name == unit) found = &u;
    }
    if (found == nullptr) {
      for (const Unit& u : kSizeUnits) {
        if (equal_ignoring_case(u.name, unit)) {
          why = quoted(text) + ": units are case-sensitive; write " + std::string(u.name);
          return false;
        }
      }
      static constexpr std::array<std::string_view, 4> kBinary{"KiB", "MiB", "GiB", "TiB"};
      for (std::string_view b : kBinary) {
        // "K", "KB", "k", "kb" and so on: decimal or ambiguous spellings.
        if (lower(unit[0]) == lower(b[0]) &&
            (unit.size() == 1 || (unit.size() == 2 && lower(unit[1]) == 'b'))) {
          why = quoted(text) + ": the unit '" + std::string(unit) + "' is ambiguous; write " +
                std::string(b) + " (powers of 1024)";
          return false;
        }
      }
      why = quoted(text) + " has an unknown unit '" + std::string(unit) +
            "'; use B, KiB, MiB, GiB or TiB (a bare number means bytes)";
      return false;
    }
    factor = found->factor;
  }
  if (value > std::numeric_limits<uint64_t>::max() / factor) {
    why = quoted(text) + " is too large";
    return false;
  }
  out = value * factor;
  return true;
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0B";
  for (size_t i = kSizeUnits.size(); i-- > 0;) {
    if (bytes % kSizeUnits[i].factor == 0) {
      return std::to_string(bytes / kSizeUnits[i].factor) + std::string(kSizeUnits[i].name);
    }
  }
  return std::to_string(bytes) + "B";
}

namespace {

std::string at(size_t i) { return "at character " + std::to_string(i + 1); }

// Checks the set starting at p[open] == '['; on success sets `close` to the
// index of its closing ']'. Follows core::glob_match: a ']' first in the set
// is a member, "a-z" is a range, '!' or '^' first negates.
bool check_set(std::string_view p, size_t open, size_t& close, std::string& why) {
  size_t i = open + 1;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) ++i;
  bool first = true;
  while (i < p.size()) {
    if (p[i] == ']' && !first) {
      close = i;
      return true;
    }
    first = false;
    if (p[i] == '[' && i + 1 < p.size() && p[i + 1] == ':' && p.find(":]", i + 2) != std::string_view::npos) {
      why = "has a character class " + at(i) +
            "; classes such as [:digit:] are not supported, write a range "
            "such as [0-9]";
      return false;
    }
    if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      if (static_cast<unsigned char>(p[i + 2]) < static_cast<unsigned char>(p[i])) {
        why = std::string("has the range '") + p[i] + "-" + p[i + 2] + "' " + at(i) +
              ", which is empty (its end comes before its start)";
        return false;
      }
      i += 3;
      continue;
    }
    ++i;
  }
  why = "has a '[' " + at(open) + " that is not closed by ']' (a literal '[' is written [[])";
  return false;
}

}  // namespace

bool check_glob(std::string_view p, std::string& why) {
  if (p.empty()) {
    why = "is empty; a pattern must match something (use \"*\" for anything)";
    return false;
  }
  for (size_t i = 0; i < p.size(); ++i) {
    const auto u = static_cast<unsigned char>(p[i]);
    if (u < 0x20 || u == 0x7f) {
      why = "has a control character " + at(i);
      return false;
    }
    if (p[i] == '\\') {
      why = "has a '\\' " + at(i) +
            "; backslash escapes are not supported, a set matches a special character "
            "literally: [*] [?] [[]";
      return false;
    }
  }
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '[') {
      size_t close = 0;
      if (!check_set(p, i, close, why)) return false;
      i = close;
    }
  }
  return true;
}

bool valid_utf8(std::string_view text, size_t& bad_at) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      len = 2;
      cp = b & 0x1fu;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      cp = b & 0x0fu;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      cp = b & 0x07u;
    } else {
      bad_at = i;
      return false;
    }
    if (i + len > text.size()) {
      bad_at = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xc0u) != 0x80u) {
        bad_at = i;
        return false;
      }
      cp = (cp << 6) | (c & 0x3fu);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      bad_at = i;
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace pk::daemon
