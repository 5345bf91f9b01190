// The value syntaxes of the configuration file that are not plain YAML:
// durations, sizes and shell-glob patterns. Each parser either fills `out`
// or says in `why` what is wrong with the text (without naming the key: the
// loader adds the key and the file position).
//
// Threads: control plane. Blocking: never. Allocation: yes (the `why` string).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pk::daemon {

// Duration: <digits><unit> with unit one of
//   ms  milliseconds      s  seconds      m  minutes      h  hours
// or <digits> alone, meaning seconds. No sign, no fraction, no space, no
// combination ("1m30s" is refused: write "90s"). At most 10^12 ms.
bool parse_duration(std::string_view text, std::chrono::milliseconds& out, std::string& why);

// The shortest exact spelling: 300000ms -> "5m", 1500ms -> "1500ms".
std::string format_duration(std::chrono::milliseconds d);

// Size: <digits> (bytes) or <digits><unit> with unit one of
//   B  bytes      KiB  1024      MiB  1024^2      GiB  1024^3      TiB  1024^4
// Decimal units (KB, MB, K, M...) are refused: they are ambiguous.
bool parse_size(std::string_view text, uint64_t& out, std::string& why);

// The largest binary unit that is exact: 16777216 -> "16MiB", 1000 -> "1000B".
std::string format_size(uint64_t bytes);

// Checks the syntax of a shell glob as core::glob_match reads it:
//   *   any run of characters        ?   one character
//   [abc] [a-z] [!a-z] [^a-z]   one character of (or not of) a set; a ']'
//                               first in the set is a member
// A special character is matched literally inside a set: [*] [?] [[].
// Refused: an empty pattern, an unclosed '[', an empty range such as [z-a],
// character classes ([[:digit:]]), backslashes (there are no escapes),
// control characters.
bool check_glob(std::string_view pattern, std::string& why);

// `text` for a message: at most 64 characters, "..." when cut; quoted() adds
// single quotes around it.
std::string clip(std::string_view text);
std::string quoted(std::string_view text);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
// code points above U+10FFFF); otherwise `bad_at` is the offset of the first
// byte that is not.
bool valid_utf8(std::string_view text, size_t& bad_at);

}  // namespace pk::daemon
