// The published snapshot as JSON, for the control socket (and D-Bus): paths,
// maps, one map, one path, the topology (map -> groups -> paths) and the
// daemon's status. Every document has "version": 1 at the top level; the
// schema is documented in ipc/json-schema.md.
//
// Every render_* function writes one whole document into a FixedWriter and
// returns false when it did not fit (the writer then reports overflowed()) or
// when `scratch` is too small. Lists keep the snapshot's order (paths by dev,
// maps by name); within a map, groups go 1, 2, ... then group 0 (member paths
// not in the kernel's table yet), and the paths of a group by dev.
//
// Threads: any (the service thread in the daemon). Blocking: never.
// Allocation: never.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/snapshot.h"
#include "core/text.h"

namespace pk::core {

inline constexpr unsigned kJsonVersion = 1;

// Upper bounds of one record in any document, with strings at their full
// capacity and free of characters that need escaping (a WWID full of control
// characters could exceed them: the renderer then reports overflow, never
// writes past the buffer). A path's bound also covers its share of the
// topology (its entry and at most one group object).
inline constexpr size_t kPathJsonMaxBytes = 896;
inline constexpr size_t kMapJsonMaxBytes = 1500;
// Status: its counters, plus what the daemon started without (each entry a
// reason of up to 255 bytes and its effect, about 600 bytes).
inline constexpr size_t kStatusJsonMaxBytes = 4096 + StartupReport::kCapacity * 640;

// A buffer size that holds any document of a snapshot within these limits.
size_t json_capacity(uint32_t max_paths, uint32_t max_maps);

// {"version":1,"generation":G,"paths":[path...]}
bool render_paths(const Snapshot& s, FixedWriter& w);
// {"version":1,"generation":G,"maps":[map...]}
bool render_maps(const Snapshot& s, FixedWriter& w);
// {"version":1,"generation":G,"path":path}
bool render_path(const Snapshot& s, const PathRecord& p, FixedWriter& w);
// {"version":1,"generation":G,"map":map with "groups"}
// `scratch` holds at least as many entries as the map has paths.
bool render_map(const Snapshot& s, const MapRecord& m, std::span<uint32_t> scratch, FixedWriter& w);
// {"version":1,"generation":G,"maps":[map with "groups"...]}
// `scratch` holds at least s.path_count entries (it orders the paths by map).
bool render_topology(const Snapshot& s, std::span<uint32_t> scratch, FixedWriter& w);
// {"version":1,"generation":G,"path_count":N,"map_count":M,"status":{...}}
bool render_status(const Snapshot& s, FixedWriter& w);

// Lookups by name; nullptr when absent.
const PathRecord* find_path(const Snapshot& s, std::string_view dev);
const MapRecord* find_map(const Snapshot& s, std::string_view name);

// `text` as a JSON string with its quotes. Quote, backslash and control
// characters are escaped; bytes that are not valid UTF-8 are written as
// \u00XX (the byte read as Latin-1), so the output is always valid JSON.
void write_json_string(FixedWriter& w, std::string_view text);

}  // namespace pk::core
