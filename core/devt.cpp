#include "core/devt.h"

#include "core/text.h"

namespace pk::core {

size_t format_devt(DevT d, std::span<char> out) {
  FixedWriter w(out);
  w.number(d.major).ch(':').number(d.minor);
  return w.overflowed() ? 0 : w.size();
}

bool parse_devt(std::string_view text, DevT& out) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  DevT d;
  if (!parse_uint(text.substr(0, colon), d.major)) return false;
  if (!parse_uint(text.substr(colon + 1), d.minor)) return false;
  out = d;
  return true;
}

}  // namespace pk::core
