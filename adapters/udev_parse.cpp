#include "adapters/udev_parse.h"

namespace pk::adapters::udevparse {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Blanks and control characters: what a WWID word must not contain.
bool separator(char c) {
  auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

bool starts_with_digit_after(std::string_view s, size_t at) {
  return at < s.size() && s[at] >= '0' && s[at] <= '9';
}

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view normalise_wwid(std::string_view raw, std::span<char> out) {
  size_t len = 0;
  bool pending_separator = false;
  for (char c : raw) {
    if (separator(c)) {
      pending_separator = len > 0;  // leading separators are dropped
      continue;
    }
    size_t need = pending_separator ? 2 : 1;
    if (len + need > out.size()) return {};
    if (pending_separator) out[len++] = '_';
    out[len++] = c;
    pending_separator = false;
  }
  // Trailing separators were never written.
  return {out.data(), len};
}

core::Transport detect_transport(std::string_view devpath, std::string_view name, bool scsi_parent) {
  using core::Transport;
  for (size_t at = devpath.find("/session"); at != std::string_view::npos;
       at = devpath.find("/session", at + 1)) {
    if (starts_with_digit_after(devpath, at + 8)) return Transport::Iscsi;
  }
  if (name.starts_with("nbd") && starts_with_digit_after(name, 3)) return Transport::Nbd;
  if (name.starts_with("nvme")) return Transport::Nvme;
  if (scsi_parent) return Transport::Scsi;
  return Transport::Unknown;
}

bool is_dm_name(std::string_view name) { return name.starts_with("dm-") && starts_with_digit_after(name, 3); }

}  // namespace pk::adapters::udevparse
