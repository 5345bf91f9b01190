// dm-sampler: the status of one device-mapper map, sampled, for lab scenarios.
//
//   dm-sampler MAP INTERVAL_MS [FILE[@N]...]
//
// Every INTERVAL_MS milliseconds, one line on stdout:
//   UPTIME WORD... | START LENGTH TARGET PARAMS
// UPTIME is seconds since boot (CLOCK_BOOTTIME, as /proc/uptime) with three
// decimals; then, for each FILE, its first word, or its word N with FILE@N
// (sysfs attributes such as device/access_state, or block/dm-0/stat@5 for
// the writes completed; "-" when unreadable); after the bar, what
// `dmsetup status MAP` prints (nothing when the map does not exist).
// Runs until killed. A shell loop calling dmsetup manages a sample every
// 300-500 ms in the lab's emulated guest under load; one ioctl takes
// microseconds. Not installed: the lab puts it in the guest's /usr/sbin.
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t kBufferSize = 64 * 1024;

// The map's status line, as dmsetup prints it; empty if the map is gone.
std::string map_status(int control, const char* name, std::vector<char>& buffer) {
  std::memset(buffer.data(), 0, buffer.size());
  auto* io = reinterpret_cast<dm_ioctl*>(buffer.data());
  io->version[0] = DM_VERSION_MAJOR;
  io->version[1] = 0;
  io->version[2] = 0;
  io->data_size = static_cast<__u32>(buffer.size());
  io->data_start = sizeof(dm_ioctl);
  std::snprintf(io->name, sizeof(io->name), "%s", name);
  if (ioctl(control, DM_TABLE_STATUS, io) != 0 || (io->flags & DM_BUFFER_FULL_FLAG) != 0) return {};
  std::string out;
  std::size_t at = io->data_start;
  for (__u32 t = 0; t < io->target_count; ++t) {
    if (at + sizeof(dm_target_spec) > io->data_size) break;
    const auto* spec = reinterpret_cast<const dm_target_spec*>(buffer.data() + at);
    const char* params = buffer.data() + at + sizeof(dm_target_spec);
    char head[128];
    std::snprintf(head, sizeof(head), "%llu %llu %.*s ", static_cast<unsigned long long>(spec->sector_start),
                  static_cast<unsigned long long>(spec->length), static_cast<int>(sizeof(spec->target_type)),
                  spec->target_type);
    if (!out.empty()) out += " ; ";
    out += head;
    out += params;
    if (spec->next == 0) break;
    at = io->data_start + spec->next;
  }
  return out;
}

// Word WORD (1-based) of a small file, "-" if it cannot be read or is missing.
std::string file_word(const std::string& path, int word) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "-";
  char text[512];
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return "-";
  text[n] = '\0';
  const char* at = text;
  for (int w = 1;; ++w) {
    at += std::strspn(at, " \t\n");
    std::size_t len = std::strcspn(at, " \t\n");
    if (len == 0) return "-";
    if (w == word) return std::string(at, len);
    at += len;
  }
}

// FILE or FILE@N: the path and the word to print.
std::pair<std::string, int> parse_file(const char* arg) {
  std::string text(arg);
  std::size_t at = text.rfind('@');
  if (at != std::string::npos && at + 1 < text.size() &&
      text.find_first_not_of("0123456789", at + 1) == std::string::npos) {
    return {text.substr(0, at), std::atoi(text.c_str() + at + 1)};
  }
  return {text, 1};
}

void add_ms(timespec& t, long ms) {
  t.tv_nsec += ms * 1000000L;
  while (t.tv_nsec >= 1000000000L) {
    t.tv_nsec -= 1000000000L;
    ++t.tv_sec;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: dm-sampler MAP INTERVAL_MS [FILE[@N]...]\n");
    return 2;
  }
  const char* name = argv[1];
  char* end = nullptr;
  long interval = std::strtol(argv[2], &end, 10);
  if (*end != '\0' || interval < 1 || interval > 60000 || std::strlen(name) >= DM_NAME_LEN) {
    std::fprintf(stderr, "dm-sampler: bad map name or interval\n");
    return 2;
  }
  int control = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
  if (control < 0) {
    std::fprintf(stderr, "dm-sampler: /dev/mapper/control: %s\n", std::strerror(errno));
    return 1;
  }
  std::vector<char> buffer(kBufferSize);
  std::vector<std::pair<std::string, int>> files;
  for (int i = 3; i < argc; ++i) files.push_back(parse_file(argv[i]));
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    timespec now{};
    clock_gettime(CLOCK_BOOTTIME, &now);
    char stamp[48];
    std::snprintf(stamp, sizeof(stamp), "%lld.%03ld", static_cast<long long>(now.tv_sec),
                  now.tv_nsec / 1000000L);
    std::string line = stamp;
    for (const auto& [path, word] : files) line += " " + file_word(path, word);
    line += " | " + map_status(control, name, buffer) + "\n";
    if (std::fputs(line.c_str(), stdout) < 0 || std::fflush(stdout) != 0) return 1;
    add_ms(next, interval);
    timespec mono{};
    clock_gettime(CLOCK_MONOTONIC, &mono);
    if (mono.tv_sec > next.tv_sec || (mono.tv_sec == next.tv_sec && mono.tv_nsec > next.tv_nsec)) {
      next = mono;  // behind (the guest was busy): the next sample now, no burst to catch up
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
    }
  }
}
