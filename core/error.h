// An error message held in a fixed buffer, so reporting a failure on the data
// plane never allocates. Longer messages are cut and end in "...".
// Threads: any (one Error per caller). Blocking: never. Allocation: never.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <string_view>

namespace pk::core {

class Error {
 public:
  static constexpr size_t kCapacity = 256;

  // printf-style; replaces any earlier message.
  void set(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void setv(const char* format, va_list args) __attribute__((format(printf, 2, 0)));
  void clear() {
    len_ = 0;
    text_[0] = '\0';
  }

  bool empty() const { return len_ == 0; }
  std::string_view view() const { return {text_, len_}; }
  const char* c_str() const { return text_; }

 private:
  char text_[kCapacity] = {};
  size_t len_ = 0;
};

}  // namespace pk::core
