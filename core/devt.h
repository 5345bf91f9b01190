// A block device number (major:minor), the identity dm-multipath uses for a path.
// Pure value type: any thread, never blocks, never allocates.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace pk::core {

struct DevT {
  uint32_t major = 0;
  uint32_t minor = 0;

  friend bool operator==(const DevT&, const DevT&) = default;
  bool valid() const { return major != 0 || minor != 0; }
};

// Formats "maj:min" into out, returns the characters written (0 if it does not fit).
size_t format_devt(DevT d, std::span<char> out);

// Parses "maj:min" exactly; false on anything else.
bool parse_devt(std::string_view text, DevT& out);

}  // namespace pk::core
