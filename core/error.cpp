#include "core/error.h"

#include <cstdio>
#include <cstring>

namespace pk::core {

void Error::set(const char* format, ...) {
  va_list args;
  va_start(args, format);
  setv(format, args);
  va_end(args);
}

void Error::setv(const char* format, va_list args) {
  int n = std::vsnprintf(text_, kCapacity, format, args);
  if (n < 0) {
    clear();
    return;
  }
  if (static_cast<size_t>(n) >= kCapacity) {
    std::memcpy(text_ + kCapacity - 4, "...", 4);
    len_ = kCapacity - 1;
  } else {
    len_ = static_cast<size_t>(n);
  }
}

}  // namespace pk::core
