// A string with its storage inline, for identities kept in preallocated slots
// (device names, WWIDs, map names). Assigning never allocates; a value that
// does not fit is refused, not cut, so two identities never collide.
// Threads: any (one owner). Blocking: never. Allocation: never.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace pk::core {

template <size_t N>
class FixedString {
 public:
  static constexpr size_t kCapacity = N - 1;  // one byte for the terminating NUL

  bool assign(std::string_view s) {
    if (s.size() > kCapacity) return false;
    std::copy(s.begin(), s.end(), buf_);
    buf_[s.size()] = '\0';
    len_ = s.size();
    return true;
  }
  void clear() { assign({}); }

  std::string_view view() const { return {buf_, len_}; }
  const char* c_str() const { return buf_; }
  bool empty() const { return len_ == 0; }
  friend bool operator==(const FixedString& a, std::string_view b) { return a.view() == b; }

 private:
  char buf_[N] = {};
  size_t len_ = 0;
};

}  // namespace pk::core
