#include "ipc/dbus_objects.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace pk::ipc::dbus {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A code point sd-bus accepts in a string: not a surrogate, not above
// U+10FFFF, not a noncharacter (systemd's unichar_is_valid).
bool acceptable(uint32_t cp) {
  if (cp >= 0x110000) return false;
  if ((cp & 0xFFFFF800u) == 0xD800) return false;
  if (cp >= 0xFDD0 && cp <= 0xFDEF) return false;
  if ((cp & 0xFFFEu) == 0xFFFE) return false;
  return true;
}

// Length of the valid, acceptable multi-byte sequence at s[i]; 0 if none.
size_t sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b = byte(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
    cp = b & 0x1Fu;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    cp = b & 0x0Fu;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    cp = b & 0x07u;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    uint8_t c = byte(i + k);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3Fu);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || !acceptable(cp)) return 0;  // overlong, surrogate, too large, noncharacter
  return n;
}

}  // namespace

size_t encode_label(std::string_view id, std::span<char> out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t len = 0;
  auto put = [&](char c) {
    if (len + 1 >= out.size()) return false;  // keep a byte for the NUL
    out[len++] = c;
    return true;
  };
  if (id.empty()) {
    if (!put('_')) return 0;
  }
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    if (is_alpha(c) || (i > 0 && is_digit(c))) {
      if (!put(c)) return 0;
      continue;
    }
    auto b = static_cast<uint8_t>(c);
    if (!put('_') || !put(kHex[b >> 4]) || !put(kHex[b & 15])) return 0;
  }
  out[len] = '\0';
  return len;
}

bool decode_label(std::string_view label, std::span<char> out, size_t& len) {
  len = 0;
  if (label == "_") return true;
  for (size_t i = 0; i < label.size(); ++i) {
    if (len >= out.size()) return false;
    char c = label[i];
    if (c == '_' && label.size() - i >= 3) {
      int hi = hex_value(label[i + 1]);
      int lo = hex_value(label[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[len++] = static_cast<char>((hi << 4) | lo);
        i += 2;
        continue;
      }
    }
    out[len++] = c;
  }
  return true;
}

bool object_path(std::string_view prefix, std::string_view id, std::span<char> out) {
  if (prefix.size() + 2 > out.size()) return false;
  std::copy(prefix.begin(), prefix.end(), out.begin());
  out[prefix.size()] = '/';
  return encode_label(id, out.subspan(prefix.size() + 1)) != 0;
}

bool object_id(std::string_view path, std::string_view prefix, std::span<char> out, std::string_view& id) {
  if (path.size() <= prefix.size() + 1 || path.substr(0, prefix.size()) != prefix ||
      path[prefix.size()] != '/')
    return false;
  std::string_view label = path.substr(prefix.size() + 1);
  if (label.find('/') != std::string_view::npos) return false;
  size_t len = 0;
  if (!decode_label(label, out, len)) return false;
  id = std::string_view(out.data(), len);
  return true;
}

const char* dbus_string(std::string_view in, std::span<char> out) {
  if (out.empty()) return nullptr;
  size_t len = 0;
  auto fits = [&](size_t n) { return len + n < out.size(); };  // and the NUL
  for (size_t i = 0; i < in.size();) {
    auto b = static_cast<uint8_t>(in[i]);
    if (b != 0 && b < 0x80) {
      if (!fits(1)) break;
      out[len++] = static_cast<char>(b);
      ++i;
      continue;
    }
    size_t n = b == 0 ? 0 : sequence_length(in, i);
    if (n) {
      if (!fits(n)) break;
      for (size_t k = 0; k < n; ++k) out[len++] = in[i + k];
      i += n;
      continue;
    }
    if (b == 0) {  // U+FFFD
      if (!fits(3)) break;
      out[len++] = static_cast<char>(0xEF);
      out[len++] = static_cast<char>(0xBF);
      out[len++] = static_cast<char>(0xBD);
    } else {  // the byte as Latin-1: U+0080..U+00FF
      if (!fits(2)) break;
      out[len++] = static_cast<char>(0xC0 | (b >> 6));
      out[len++] = static_cast<char>(0x80 | (b & 0x3F));
    }
    ++i;
  }
  out[len] = '\0';
  return out.data();
}

const char* no_path_retry_text(const core::NoPathRetry& r, std::span<char> out) {
  if (out.empty()) return nullptr;
  int n = 0;
  switch (r.kind) {
    case core::NoPathRetry::Kind::Queue:
      n = std::snprintf(out.data(), out.size(), "queue");
      break;
    case core::NoPathRetry::Kind::Fail:
      n = std::snprintf(out.data(), out.size(), "fail");
      break;
    case core::NoPathRetry::Kind::Checks:
      n = std::snprintf(out.data(), out.size(), "%u", r.checks);
      break;
    case core::NoPathRetry::Kind::Time:
      n = std::snprintf(out.data(), out.size(), "%llds", static_cast<long long>(r.duration.count()));
      break;
  }
  if (n < 0) out[0] = '\0';
  return out.data();
}

}  // namespace pk::ipc::dbus
