#include "adapters/host_knobs.h"

#include <cstdio>
#include <cstring>

#include "core/text.h"

namespace pk::adapters {

namespace {

constexpr const char* kBackstop = "module/dm_multipath/parameters/queue_if_no_path_timeout_secs";

// "class/bdi/MAJ:MIN/KNOB" relative to the sysfs root.
void bdi_path(core::DevT dev, std::string_view knob, std::span<char> out) {
  std::snprintf(out.data(), out.size(), "class/bdi/%u:%u/%.*s", dev.major, dev.minor,
                static_cast<int>(knob.size()), knob.data());
}

bool bdi_has(const Sysfs& sysfs, core::DevT dev, std::string_view knob) {
  char path[96];
  bdi_path(dev, knob, path);
  return sysfs.exists(path);
}

bool write_number(const Sysfs& sysfs, const char* path, uint64_t value, core::Error& err) {
  char text[24];
  core::FixedWriter w(text);
  w.number(value);
  int error = 0;
  if (sysfs.write(path, w.view(), error)) return true;
  err.set("writing %llu to /sys/%s: %s", static_cast<unsigned long long>(value), path, std::strerror(error));
  return false;
}

}  // namespace

core::BdiKnobs bdi_knobs(const Sysfs& sysfs, core::DevT dev) {
  return {bdi_has(sysfs, dev, "max_ratio"), bdi_has(sysfs, dev, "max_bytes"),
          bdi_has(sysfs, dev, "strict_limit")};
}

bool write_dirty_cap(const Sysfs& sysfs, core::DevT dev, const core::DirtyCapPlan& plan, uint8_t& written,
                     core::Error& err) {
  written = 0;
  for (uint8_t i = 0; i < plan.count; ++i) {
    char path[96];
    bdi_path(dev, plan.writes[i].knob, path);
    if (!write_number(sysfs, path, plan.writes[i].value, err)) return false;
    ++written;
  }
  return true;
}

bool backstop_available(const Sysfs& sysfs) { return sysfs.exists(kBackstop); }

bool write_backstop(const Sysfs& sysfs, uint64_t seconds, core::Error& err) {
  return write_number(sysfs, kBackstop, seconds, err);
}

bool read_backstop(const Sysfs& sysfs, uint64_t& seconds) {
  char buf[32];
  std::string_view text;
  return sysfs.read(kBackstop, buf, text) && core::parse_uint(text, seconds);
}

}  // namespace pk::adapters
