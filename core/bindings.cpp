#include "core/bindings.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace pk::core {

namespace {

constexpr size_t kMaxAlias = decltype(Binding::alias)::kCapacity;
constexpr size_t kMaxWwid = decltype(Binding::wwid)::kCapacity;

// As multipath-tools: ids are C ints.
constexpr uint32_t kLastFriendlyId = 0x7fffffff;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The next word of `s` from `at` (blank-separated), "" at the end.
std::string_view next_word(std::string_view s, size_t& at) {
  while (at < s.size() && is_blank(s[at])) ++at;
  size_t start = at;
  while (at < s.size() && !is_blank(s[at])) ++at;
  return s.substr(start, at - start);
}

size_t append(std::span<char> out, size_t at, std::string_view s) {
  if (at == SIZE_MAX || s.size() > out.size() - at) return SIZE_MAX;
  std::memcpy(out.data() + at, s.data(), s.size());
  return at + s.size();
}

}  // namespace

uint32_t friendly_id(std::string_view alias, std::string_view prefix) {
  if (!alias.starts_with(prefix)) return 0;
  std::string_view letters = alias.substr(prefix.size());
  if (letters.empty() || letters.size() > kMaxFriendlyLetters) return 0;
  uint64_t n = 0;
  for (char c : letters) {
    if (c < 'a' || c > 'z') return 0;
    n = n * 26 + static_cast<uint64_t>(c - 'a') + 1;
  }
  return n <= kLastFriendlyId ? static_cast<uint32_t>(n) : 0;
}

std::string_view friendly_name(uint32_t id, std::string_view prefix, std::span<char> out) {
  if (id == 0 || id > kLastFriendlyId) return {};
  char letters[kMaxFriendlyLetters + 1];
  size_t pos = sizeof letters;
  for (; id >= 1 && pos > 0; id /= 26) letters[--pos] = static_cast<char>('a' + --id % 26);
  if (id != 0) return {};
  const size_t n = sizeof letters - pos;
  if (prefix.size() + n > out.size()) return {};
  std::memcpy(out.data(), prefix.data(), prefix.size());
  std::memcpy(out.data() + prefix.size(), letters + pos, n);
  return {out.data(), prefix.size() + n};
}

bool alias_before(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

bool valid_alias(std::string_view alias) {
  if (alias.empty() || alias.size() > kMaxAlias) return false;
  for (char c : alias)
    if (c == '/' || c == '#' || is_blank(c) || c == '\n' || c == '\r' || c == '\0') return false;
  return true;
}

// ---------------------------------------------------------------- the table

void BindingTable::init(size_t capacity) {
  entries_ = std::make_unique<Binding[]>(capacity);
  capacity_ = capacity;
  size_ = 0;
}

size_t BindingTable::lower_bound(std::string_view alias) const {
  const Binding* first = entries_.get();
  const Binding* at = std::lower_bound(first, first + size_, alias, [](const Binding& b, std::string_view a) {
    return alias_before(b.alias.view(), a);
  });
  return static_cast<size_t>(at - first);
}

const Binding* BindingTable::find_alias(std::string_view alias) const {
  size_t i = lower_bound(alias);
  return i < size_ && entries_[i].alias == alias ? &entries_[i] : nullptr;
}

const Binding* BindingTable::find_wwid(std::string_view wwid) const {
  for (size_t i = 0; i < size_; ++i)
    if (entries_[i].wwid == wwid) return &entries_[i];
  return nullptr;
}

BindingTable::AddResult BindingTable::add(std::string_view alias, std::string_view wwid, uint32_t line) {
  AddResult r;
  if (!valid_alias(alias) || wwid.empty() || wwid.size() > kMaxWwid) return r;
  const size_t i = lower_bound(alias);
  if (i < size_ && entries_[i].alias == alias) {
    r.other = &entries_[i];
    r.outcome = entries_[i].wwid == wwid ? Outcome::Exists : Outcome::AliasTaken;
    return r;
  }
  if (const Binding* b = find_wwid(wwid)) {
    r.other = b;
    r.outcome = Outcome::WwidBound;
    return r;
  }
  if (size_ == capacity_) {
    r.outcome = Outcome::Full;
    return r;
  }
  Binding* first = entries_.get();
  std::move_backward(first + i, first + size_, first + size_ + 1);
  first[i].alias.assign(alias);
  first[i].wwid.assign(wwid);
  first[i].line = line;
  ++size_;
  r.outcome = Outcome::Added;
  return r;
}

bool BindingTable::remove_wwid(std::string_view wwid) {
  const Binding* b = find_wwid(wwid);
  if (!b) return false;
  Binding* first = entries_.get();
  const size_t i = static_cast<size_t>(b - first);
  std::move(first + i + 1, first + size_, first + i);
  --size_;
  return true;
}

std::string_view BindingTable::free_name(std::string_view prefix, FunctionRef<bool(std::string_view)> taken,
                                         std::span<char> out) const {
  auto is_taken = [&](uint32_t id) { return taken(friendly_name(id, prefix, out)); };
  // The bindings are in id order for the prefix: the first gap below a bound
  // id that nothing else takes is the answer.
  uint32_t id = 1;
  for (size_t i = 0; i < size_; ++i) {
    const uint32_t bound = friendly_id(entries_[i].alias.view(), prefix);
    if (bound == 0 || bound < id) continue;
    while (id < bound && is_taken(id)) ++id;
    if (id < bound) return friendly_name(id, prefix, out);
    id = bound + 1;
  }
  while (id <= kLastFriendlyId && is_taken(id)) ++id;
  return id <= kLastFriendlyId ? friendly_name(id, prefix, out) : std::string_view();
}

// ---------------------------------------------------------------- the file

bool refused(const BindingsProblem& p) {
  return p.kind != BindingsProblem::Kind::ExtraWords && p.kind != BindingsProblem::Kind::Duplicate;
}

std::string_view describe(const BindingsProblem& p, std::span<char> out) {
  auto v = [](std::string_view s) { return static_cast<int>(s.size()); };
  const Binding* o = p.other;
  int n = 0;
  switch (p.kind) {
    case BindingsProblem::Kind::NoWwid:
      n = std::snprintf(out.data(), out.size(), "line %u: alias %.*s has no WWID; skipped", p.line,
                        v(p.alias), p.alias.data());
      break;
    case BindingsProblem::Kind::Invalid:
      n = std::snprintf(
          out.data(), out.size(),
          "line %u: '%.*s %.*s' is no binding (an alias of at most %zu characters without '/' or "
          "'#', a WWID of at most %zu); skipped",
          p.line, v(p.alias.substr(0, 64)), p.alias.data(), v(p.wwid.substr(0, 64)), p.wwid.data(), kMaxAlias,
          kMaxWwid);
      break;
    case BindingsProblem::Kind::ExtraWords:
      n = std::snprintf(out.data(), out.size(), "line %u: words after WWID %.*s ignored; %.*s kept", p.line,
                        v(p.wwid), p.wwid.data(), v(p.alias), p.alias.data());
      break;
    case BindingsProblem::Kind::Duplicate:
      n = std::snprintf(out.data(), out.size(), "line %u: %.*s %.*s again (first on line %u)", p.line,
                        v(p.alias), p.alias.data(), v(p.wwid), p.wwid.data(), o ? o->line : 0);
      break;
    case BindingsProblem::Kind::AliasTaken:
      n = std::snprintf(
          out.data(), out.size(),
          "line %u: alias %.*s is bound to WWID %s (line %u) and to WWID %.*s; the binding to %.*s "
          "is refused",
          p.line, v(p.alias), p.alias.data(), o->wwid.c_str(), o->line, v(p.wwid), p.wwid.data(), v(p.wwid),
          p.wwid.data());
      break;
    case BindingsProblem::Kind::WwidBound:
      n = std::snprintf(out.data(), out.size(),
                        "line %u: WWID %.*s is bound to %s (line %u) and to %.*s; the alias %.*s is refused",
                        p.line, v(p.wwid), p.wwid.data(), o->alias.c_str(), o->line, v(p.alias),
                        p.alias.data(), v(p.alias), p.alias.data());
      break;
    case BindingsProblem::Kind::Full:
      n = std::snprintf(out.data(), out.size(), "line %u: no room for %.*s %.*s; skipped", p.line, v(p.alias),
                        p.alias.data(), v(p.wwid), p.wwid.data());
      break;
  }
  if (n < 0) n = 0;
  return {out.data(), std::min(static_cast<size_t>(n), out.empty() ? 0 : out.size() - 1)};
}

size_t count_lines(std::string_view text) {
  if (text.empty()) return 0;
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + (text.ends_with('\n') ? 0 : 1);
}

BindingsRead parse_bindings(std::string_view text, BindingTable& into,
                            FunctionRef<void(const BindingsProblem&)> problem) {
  BindingsRead read;
  read.header = text.starts_with(kBindingsHeader);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++read.lines;
    // As multipath-tools: everything from '#' or '\r' on is no part of the line.
    line = line.substr(0, line.find_first_of("#\r"));
    size_t at = 0;
    BindingsProblem p;
    p.line = read.lines;
    p.alias = next_word(line, at);
    if (p.alias.empty()) continue;
    p.wwid = next_word(line, at);
    using Kind = BindingsProblem::Kind;
    auto report = [&](Kind kind, const Binding* other = nullptr) {
      p.kind = kind;
      p.other = other;
      if (refused(p)) ++read.refused;
      problem(p);
    };
    if (p.wwid.empty()) {
      report(Kind::NoWwid);
      continue;
    }
    const bool extra = !next_word(line, at).empty();
    BindingTable::AddResult r = into.add(p.alias, p.wwid, p.line);
    switch (r.outcome) {
      case BindingTable::Outcome::Added:
        ++read.bindings;
        break;
      case BindingTable::Outcome::Exists:
        report(Kind::Duplicate, r.other);
        break;
      case BindingTable::Outcome::AliasTaken:
        report(Kind::AliasTaken, r.other);
        break;
      case BindingTable::Outcome::WwidBound:
        report(Kind::WwidBound, r.other);
        break;
      case BindingTable::Outcome::Full:
        report(Kind::Full);
        break;
      case BindingTable::Outcome::Invalid:
        report(Kind::Invalid);
        break;
    }
    if (extra && r.outcome == BindingTable::Outcome::Added) report(Kind::ExtraWords);
  }
  return read;
}

size_t format_bindings(const BindingTable& table, std::span<char> out) {
  size_t at = append(out, 0, kBindingsHeader);
  for (const Binding& b : table.entries()) {
    at = append(out, at, b.alias.view());
    at = append(out, at, " ");
    at = append(out, at, b.wwid.view());
    at = append(out, at, "\n");
  }
  return at == SIZE_MAX ? 0 : at;
}

size_t bindings_text_bound(const BindingTable& table, size_t capacity) {
  size_t n = kBindingsHeader.size();
  for (const Binding& b : table.entries()) n += b.alias.view().size() + b.wwid.view().size() + 2;
  const size_t rest = capacity > table.size() ? capacity - table.size() : 0;
  return n + rest * (kMaxAliasPrefix + kMaxFriendlyLetters + kMaxWwid + 2);
}

}  // namespace pk::core
