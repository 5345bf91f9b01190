// The outcome of parsing outside input: success, or what was wrong and where.
// `what` always points at a string literal, so reporting an error never allocates.
#pragma once

#include <cstddef>

namespace pk::core {

struct ParseResult {
  const char* what = nullptr;  // nullptr on success
  size_t offset = 0;           // byte offset in the input where it went wrong

  explicit operator bool() const { return what == nullptr; }
  static ParseResult ok() { return {}; }
  static ParseResult error(const char* what, size_t offset) { return {what, offset}; }
};

}  // namespace pk::core
