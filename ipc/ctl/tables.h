// pathkeeperctl's text for people, from the daemon's JSON (schema version 1,
// ipc/json-schema.md). Every function takes a whole reply document and
// returns the text to print, ending in a newline. Missing fields show as
// defaults, never as a crash; a field of the wrong type throws
// nlohmann::json::exception (the caller reports a malformed reply).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ipc/protocol.h"

namespace pk::ctl {

std::string format_paths(const nlohmann::json& doc);     // show paths: one row per path
std::string format_maps(const nlohmann::json& doc);      // show maps: one row per map
std::string format_topology(const nlohmann::json& doc);  // show topology: like multipath -ll
std::string format_map(const nlohmann::json& doc);       // show map NAME: topology, then every field
std::string format_path(const nlohmann::json& doc);      // show path DEV: every field
std::string format_status(const nlohmann::json& doc);    // status
std::string format_config(const nlohmann::json& doc);    // show config: the YAML text
std::string format_result(const nlohmann::json& doc);    // a command's message

// The formatter for a request kind.
std::string format_reply(ipc::RequestKind kind, const nlohmann::json& doc);

// The message of an error reply ({"error":{"code","message"}}).
std::string error_message(const nlohmann::json& doc);

// 4294967296 -> "4.0G", 21474836480 -> "20G" (binary units, as multipath -ll).
std::string human_size(uint64_t bytes);
// 0 -> "0s", 65000 -> "1m05s", 7500000 -> "2h05m", 300000000 -> "3d11h"; negative -> "-".
std::string human_duration(int64_t ms);

}  // namespace pk::ctl
