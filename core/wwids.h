// The WWIDs made into maps, in multipath-tools' wwids file format
// (/etc/multipath/wwids): "/<wwid>/" per line under a comment header. LVM
// reads the same file (lvm.conf devices/multipath_wwids_file) to know which
// disks are multipath components before their maps exist.
//
// A line that does not begin with '/' is a comment (multipath -w comments a
// line out with '#'); after the closing '/', the rest of the line is ignored,
// as multipath-tools does.
//
// Threads: start-up (reading), the loop thread (a map made), the file writer
// thread (wwids_missing). Blocking: never. Allocation: WwidSet::init() only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/fixed_string.h"
#include "core/function_ref.h"

namespace pk::core {

inline constexpr std::string_view kWwidsHeader =
    "# Multipath wwids, Version : 1.0\n"
    "# NOTE: This file is automatically maintained by multipath and multipathd.\n"
    "# You should not need to edit this file in normal circumstances.\n"
    "#\n"
    "# Valid WWIDs:\n";

inline constexpr size_t kMaxWwidLine = 255 + 3;  // "/" wwid "/\n"

struct WwidsProblem {
  uint32_t line = 0;
  const char* what = "";  // static text
  std::string_view text;  // the line
};

struct WwidsRead {
  uint32_t lines = 0;
  uint32_t wwids = 0;
  uint32_t refused = 0;
};

// Each WWID of a wwids file, with its line; bad lines (a '/' without its
// closing '/', an empty or too long WWID) are reported and skipped.
WwidsRead parse_wwids(std::string_view text, FunctionRef<void(std::string_view wwid, uint32_t line)> wwid,
                      FunctionRef<void(const WwidsProblem&)> problem);
// "/<wwid>/\n" into `out`; 0 when it does not fit or the WWID cannot be one.
size_t format_wwid_line(std::string_view wwid, std::span<char> out);
// The lines of `wanted` (a wwids text) whose WWID `existing` (a wwids file)
// does not have, appended to `out` in order. `fits` false when `out` is too
// small (nothing past the last whole line is written).
size_t wwids_missing(std::string_view existing, std::string_view wanted, std::span<char> out, bool& fits);

// A set of WWIDs, sorted, of a capacity set at start-up.
class WwidSet {
 public:
  enum class Outcome : uint8_t { Added, Exists, Full, Invalid };

  void init(size_t capacity);  // allocates
  Outcome add(std::string_view wwid);
  bool contains(std::string_view wwid) const;
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }

 private:
  size_t lower_bound(std::string_view wwid) const;

  std::unique_ptr<FixedString<256>[]> entries_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace pk::core
