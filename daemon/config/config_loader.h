// Loads the daemon's configuration from YAML into core::Config, validates it
// and writes it back as YAML. The schema, every key, its default and range are
// documented in daemon/config/pathkeeper.yaml.example.
//
// Exceptions (yaml-cpp throws) stop in this component: every function here
// returns its outcome and never throws, except std::bad_alloc from
// dump_config_yaml and default_config.
//
// Threads: control plane only (start-up, reconfigure, --check-config, `show
// config`). Blocking: load_config_file reads one file. Allocation: yes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pk::daemon {

struct LoadResult {
  bool ok = false;
  // When !ok: "FILE:LINE:COL: key.path: what is wrong" (LINE and COL 1-based;
  // "FILE: ..." when the problem has no position, e.g. the file is missing).
  std::string error;
  // Accepted but probably not meant, same format. Present also when ok.
  std::vector<std::string> warnings;
};

// How to load, beyond the text itself.
struct LoadOptions {
  // On reconfigure: the capacities the running daemon was sized with, which
  // cannot change until it restarts (design rule 1). The file's limits are
  // still validated; where they differ, a warning says so and the result
  // keeps these, and the maps are checked against these.
  const core::Limits* running_limits = nullptr;
};

// Inputs larger than this are refused before parsing.
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;

// The file_position of the built-in blacklist rules.
inline constexpr char kBuiltInRule[] = "built-in";

// Where the daemon looks when no file is named: <sysconfdir>/pathkeeper/pathkeeper.yaml.
std::string default_config_path();

// The configuration with no file at all: core::Config's defaults, the log file
// in the build's log directory, and the built-in blacklist (rules whose
// file_position is "built-in"; see the example file for the list).
core::Config default_config();

// Parses, validates and, only when everything is valid, replaces `out` with
// default_config() plus what the text sets. On error `out` is left untouched,
// so a bad reconfigure keeps the running configuration. Safe on arbitrary
// bytes: input over kMaxConfigBytes, invalid YAML, deep nesting and cyclic
// aliases all end in an error result.
LoadResult load_config_text(std::string_view text, const std::string& source_name, core::Config& out,
                            const LoadOptions& options = {});

// The same for a file; `source_name` is the path. Reads at most
// kMaxConfigBytes + 1 bytes. Warns when the file is writable by others.
LoadResult load_config_file(const std::string& path, core::Config& out, const LoadOptions& options = {});

// The effective configuration as YAML that load_config_text accepts and that
// loads back to an equivalent configuration (built-in blacklist rules are
// listed in a comment, not as rules). Per-map settings are written only where
// they differ from `defaults`.
std::string dump_config_yaml(const core::Config& config);

// True when two configurations would make the daemon behave identically:
// every field except `source` and the rules' and maps' file_position.
bool equivalent(const core::Config& a, const core::Config& b);

}  // namespace pk::daemon
