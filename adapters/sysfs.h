// Reads and writes small sysfs files relative to a root directory fd, so
// tests hand it a fake tree. Each access is openat + read/write + close.
// Threads: any. Blocking: sysfs attribute reads do not wait on devices; a
// write waits only if the attribute's store does (callers choose which).
// Allocation: never.
#pragma once

#include <span>
#include <string_view>

namespace pk::adapters {

class Sysfs {
 public:
  explicit Sysfs(int root_fd) : root_fd_(root_fd) {}
  int root_fd() const { return root_fd_; }

  // Reads `relative_path` (e.g. "block/sda/device/state") into `buf`; on
  // success `out` is the content without the trailing newline.
  bool read(const char* relative_path, std::span<char> buf, std::string_view& out) const;
  // Writes `text` to an existing attribute; the errno when it fails, else 0.
  int write(const char* relative_path, std::string_view text) const;
  // Reads an attribute kept open: sysfs answers a read at offset 0 with a
  // fresh value, so one pread replaces open, read and close. False when the
  // read fails (the device went away, or the attribute has no value now).
  static bool reread(int fd, std::span<char> buf, std::string_view& out);
  // Whether the attribute exists (a knob the kernel may not have).
  bool exists(const char* relative_path) const;
  // Writes `value` to an existing attribute (never creates a file); on
  // failure, false with errno's number in `error`.
  bool write(const char* relative_path, std::string_view value, int& error) const;

 private:
  int root_fd_;
};

}  // namespace pk::adapters
