// Small text helpers for parsing kernel and sysfs answers without allocating.
// Any thread, never blocks, never allocates.
#pragma once

#include <charconv>
#include <cstdint>
#include <span>
#include <string_view>

namespace pk::core {

// Splits a string on ASCII blanks, one word at a time, remembering where it is
// so that a parse error can name the offset.
class Words {
 public:
  explicit Words(std::string_view text) : text_(text) {}

  // Next word, or empty when none is left.
  std::string_view next();
  bool done();
  // Where the next word starts: what a parse error should point at.
  size_t offset() {
    skip_blanks();
    return pos_;
  }

 private:
  void skip_blanks();
  std::string_view text_;
  size_t pos_ = 0;
};

template <typename Int>
bool parse_uint(std::string_view s, Int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Appends to a fixed buffer; remembers overflow instead of writing past the end.
class FixedWriter {
 public:
  explicit FixedWriter(std::span<char> out) : out_(out) {}

  FixedWriter& text(std::string_view s);
  FixedWriter& number(uint64_t v);
  FixedWriter& ch(char c) { return text(std::string_view(&c, 1)); }

  bool overflowed() const { return overflow_; }
  size_t size() const { return len_; }
  std::string_view view() const { return {out_.data(), len_}; }

 private:
  std::span<char> out_;
  size_t len_ = 0;
  bool overflow_ = false;
};

}  // namespace pk::core
