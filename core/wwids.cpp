#include "core/wwids.h"

#include <algorithm>
#include <cstring>

namespace pk::core {

namespace {

constexpr size_t kMaxWwid = FixedString<256>::kCapacity;

// The WWID of one line, "" when the line names none; `bad` says why a line
// that begins with '/' names none.
std::string_view wwid_of_line(std::string_view line, const char*& bad) {
  bad = nullptr;
  if (!line.starts_with('/')) return {};
  size_t close = line.find('/', 1);
  if (close == std::string_view::npos) {
    bad = "no closing '/'";
    return {};
  }
  std::string_view w = line.substr(1, close - 1);
  if (w.empty()) bad = "an empty WWID";
  if (w.size() > kMaxWwid) bad = "a WWID longer than 255 characters";
  return bad ? std::string_view() : w;
}

template <typename F>
void each_line(std::string_view text, F&& f) {
  size_t start = 0;
  uint32_t n = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (!f(text.substr(start, end - start), ++n)) return;
    start = end + 1;
  }
}

bool has_wwid(std::string_view text, std::string_view wwid) {
  bool found = false;
  each_line(text, [&](std::string_view line, uint32_t) {
    const char* bad;
    found = wwid_of_line(line, bad) == wwid;
    return !found;
  });
  return found;
}

}  // namespace

WwidsRead parse_wwids(std::string_view text, FunctionRef<void(std::string_view wwid, uint32_t line)> wwid,
                      FunctionRef<void(const WwidsProblem&)> problem) {
  WwidsRead read;
  each_line(text, [&](std::string_view line, uint32_t n) {
    read.lines = n;
    const char* bad;
    std::string_view w = wwid_of_line(line, bad);
    if (bad) {
      ++read.refused;
      problem(WwidsProblem{n, bad, line});
    } else if (!w.empty()) {
      ++read.wwids;
      wwid(w, n);
    }
    return true;
  });
  return read;
}

size_t format_wwid_line(std::string_view wwid, std::span<char> out) {
  if (wwid.empty() || wwid.size() > kMaxWwid || wwid.find_first_of("/\n") != std::string_view::npos ||
      wwid.size() + 3 > out.size())
    return 0;
  out[0] = '/';
  std::memcpy(out.data() + 1, wwid.data(), wwid.size());
  out[wwid.size() + 1] = '/';
  out[wwid.size() + 2] = '\n';
  return wwid.size() + 3;
}

size_t wwids_missing(std::string_view existing, std::string_view wanted, std::span<char> out, bool& fits) {
  fits = true;
  size_t at = 0;
  each_line(wanted, [&](std::string_view line, uint32_t) {
    const char* bad;
    std::string_view w = wwid_of_line(line, bad);
    if (w.empty() || has_wwid(existing, w)) return true;
    size_t n = format_wwid_line(w, out.subspan(at));
    if (n == 0) fits = false;
    at += n;
    return fits;
  });
  return at;
}

// ---------------------------------------------------------------- the set

void WwidSet::init(size_t capacity) {
  entries_ = std::make_unique<FixedString<256>[]>(capacity);
  capacity_ = capacity;
  size_ = 0;
}

size_t WwidSet::lower_bound(std::string_view wwid) const {
  const FixedString<256>* first = entries_.get();
  return static_cast<size_t>(
      std::lower_bound(first, first + size_, wwid,
                       [](const FixedString<256>& e, std::string_view w) { return e.view() < w; }) -
      first);
}

bool WwidSet::contains(std::string_view wwid) const {
  size_t i = lower_bound(wwid);
  return i < size_ && entries_[i] == wwid;
}

WwidSet::Outcome WwidSet::add(std::string_view wwid) {
  if (wwid.empty() || wwid.size() > kMaxWwid || wwid.find_first_of("/\n") != std::string_view::npos)
    return Outcome::Invalid;
  size_t i = lower_bound(wwid);
  if (i < size_ && entries_[i] == wwid) return Outcome::Exists;
  if (size_ == capacity_) return Outcome::Full;
  FixedString<256>* first = entries_.get();
  std::move_backward(first + i, first + size_, first + size_ + 1);
  first[i].assign(wwid);
  ++size_;
  return Outcome::Added;
}

}  // namespace pk::core
