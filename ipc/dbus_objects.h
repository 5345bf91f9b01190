// Names and object paths of the D-Bus service (ipc/dbus-interface.md), and
// the pure helpers that build them into fixed buffers:
// - object path labels, escaped exactly as sd_bus_path_encode() does (every
//   byte but [A-Za-z0-9] as _xx, a leading digit too, "" as "_"), and back;
// - D-Bus strings, which must be UTF-8 without NUL, from names read off
//   devices (a WWID can hold any byte);
// - no_path_retry as the configuration file writes it.
//
// Threads: any. Blocking: never. Allocation: never.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "core/config.h"

namespace pk::ipc::dbus {

inline constexpr char kBusName[] = "org.pathkeeper.PathKeeper1";
inline constexpr char kManagerPath[] = "/org/pathkeeper/PathKeeper1";
inline constexpr char kMapPrefix[] = "/org/pathkeeper/PathKeeper1/map";
inline constexpr char kPathPrefix[] = "/org/pathkeeper/PathKeeper1/path";
inline constexpr char kManagerInterface[] = "org.pathkeeper.PathKeeper1.Manager";
inline constexpr char kMapInterface[] = "org.pathkeeper.PathKeeper1.Map";
inline constexpr char kPathInterface[] = "org.pathkeeper.PathKeeper1.Path";

inline constexpr char kErrorNotFound[] = "org.pathkeeper.PathKeeper1.Error.NotFound";
inline constexpr char kErrorAccessDenied[] = "org.pathkeeper.PathKeeper1.Error.AccessDenied";
inline constexpr char kErrorFailed[] = "org.pathkeeper.PathKeeper1.Error.Failed";
inline constexpr char kErrorBusy[] = "org.pathkeeper.PathKeeper1.Error.Busy";
inline constexpr char kErrorTimeout[] = "org.pathkeeper.PathKeeper1.Error.Timeout";

// The longest name an object stands for (a map name: core::MapRecord::name).
inline constexpr size_t kMaxIdBytes = 127;
// Room for any map or path object path: the longer prefix, '/', three
// characters per byte of the name, NUL.
inline constexpr size_t kObjectPathBytes = sizeof kPathPrefix + 1 + 3 * kMaxIdBytes + 1;
// Room for any D-Bus string made from a name of `n` bytes (dbus_string).
constexpr size_t dbus_string_bytes(size_t n) { return 3 * n + 1; }

// `id` as one object path element, NUL-terminated in `out`. Returns its
// length, 0 when `out` is too small.
size_t encode_label(std::string_view id, std::span<char> out);

// The reverse of encode_label (and of sd_bus_path_decode's unescaping: an
// '_' not followed by two hex digits stands for itself). False when `out` is
// too small. `out` is not NUL-terminated; `len` says how much was written.
bool decode_label(std::string_view label, std::span<char> out, size_t& len);

// "PREFIX/LABEL", NUL-terminated. False when it does not fit.
bool object_path(std::string_view prefix, std::string_view id, std::span<char> out);

// The name an object path stands for when it is exactly one element below
// `prefix`; written to `out`, `id` views it. False for anything else (the
// prefix itself, a deeper path, another prefix, a name too long for `out`).
bool object_id(std::string_view path, std::string_view prefix, std::span<char> out, std::string_view& id);

// `in` as a D-Bus string, NUL-terminated in `out`: valid UTF-8 is kept; every
// byte that is not part of a valid sequence becomes the character of the same
// number (read as Latin-1, as the JSON documents do) and NUL becomes U+FFFD.
// With dbus_string_bytes(in.size()) bytes of `out` nothing is cut; with less,
// the text is cut at a character boundary. Returns out.data().
const char* dbus_string(std::string_view in, std::span<char> out);

// no_path_retry in the configuration file's words: "queue", "fail", "3"
// (check rounds), "300s". NUL-terminated; `out` needs 24 bytes.
const char* no_path_retry_text(const core::NoPathRetry& r, std::span<char> out);

}  // namespace pk::ipc::dbus
