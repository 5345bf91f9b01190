#include "core/text.h"

#include <algorithm>

namespace pk::core {

namespace {
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
}  // namespace

void Words::skip_blanks() {
  while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
}

std::string_view Words::next() {
  skip_blanks();
  size_t start = pos_;
  while (pos_ < text_.size() && !is_blank(text_[pos_])) ++pos_;
  return text_.substr(start, pos_ - start);
}

bool Words::done() {
  skip_blanks();
  return pos_ >= text_.size();
}

FixedWriter& FixedWriter::text(std::string_view s) {
  if (overflow_) return *this;
  if (s.size() > out_.size() - len_) {
    overflow_ = true;
    return *this;
  }
  std::copy(s.begin(), s.end(), out_.begin() + static_cast<std::ptrdiff_t>(len_));
  len_ += s.size();
  return *this;
}

FixedWriter& FixedWriter::number(uint64_t v) {
  char digits[24];
  auto [p, ec] = std::to_chars(digits, digits + sizeof digits, v);
  (void)ec;  // 24 characters always hold a uint64_t
  return text(std::string_view(digits, static_cast<size_t>(p - digits)));
}

}  // namespace pk::core
