// Fuzz entry point for what the udev adapter reads from udev and sysfs
// (adapters/udev_parse.h): WWIDs, devpaths and kernel names. The input is
// split at NUL bytes into the pieces. Besides "does not crash", it checks the
// promises of normalise_wwid: the result fits, has no blank or control
// character, and normalising it again changes nothing.
#include <array>
#include <cstdint>
#include <string_view>

#include "adapters/udev_parse.h"
#include "tests/fuzz/fuzz_check.h"

using pk::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pk::adapters::udevparse;
  std::string_view in = pk::fuzz::text(data, size);
  std::string_view piece[3];
  for (std::string_view& p : piece) {
    size_t nul = in.find('\0');
    p = in.substr(0, nul);
    in = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);
  }
  const std::string_view& raw_wwid = piece[0];
  const std::string_view& devpath = piece[1];
  const std::string_view& name = piece[2];

  std::array<char, kWwidMax> buf;
  std::string_view w = normalise_wwid(raw_wwid, buf);
  check(w.size() <= buf.size());
  if (!w.empty()) {
    check(w.data() == buf.data());
    for (char c : w) check(static_cast<unsigned char>(c) > ' ' && c != 0x7f);
    std::array<char, kWwidMax> buf2;
    check(normalise_wwid(w, buf2) == w);
  }
  std::string_view t = trim(raw_wwid);
  check(t.size() <= raw_wwid.size());
  check(!transport_name(detect_transport(devpath, name, size % 2 == 0)).empty());
  is_dm_name(name);
  return 0;
}
