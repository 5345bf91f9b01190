// The dm-multipath table: the parameters after "<start> <length> multipath".
//
//   <#features> [features] <#hw args> [hw_handler [args]] <#groups> <initial group>
//   per group: <selector> <#selector args> [args] <#paths> <#per-path args>
//              per path: <major:minor> [per-path args]
//
// Built when a map is created or reloaded; parsed when an existing map is
// adopted and to read whether the kernel queues I/O with no path (the table the
// kernel reports shows queue_if_no_path as it is now, not as it was loaded).
//
// Threads: any. Blocking: never. Allocation: never; the caller owns all storage.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/devt.h"
#include "core/parse_result.h"

namespace pk::core {

enum class Selector : uint8_t { ServiceTime, RoundRobin, QueueLength };

std::string_view selector_name(Selector s);
bool parse_selector(std::string_view name, Selector& out);

struct TableFeatures {
  bool queue_if_no_path = false;
  bool retain_attached_hw_handler = false;
  uint32_t pg_init_retries = 0;      // 0: kernel default
  uint32_t pg_init_delay_msecs = 0;  // 0: kernel default
  bool queue_mode_bio = false;       // kernel reports "queue_mode bio" only when set

  friend bool operator==(const TableFeatures&, const TableFeatures&) = default;
};

// A path group: a contiguous range of MultipathTable::paths.
struct TableGroup {
  Selector selector = Selector::ServiceTime;
  uint16_t first_path = 0;
  uint16_t path_count = 0;

  friend bool operator==(const TableGroup&, const TableGroup&) = default;
};

struct MultipathTable {
  TableFeatures features;
  std::string_view hw_handler;  // "" when none
  uint16_t initial_group = 1;   // 1-based, as the kernel counts
  std::span<const TableGroup> groups;
  std::span<const DevT> paths;
};

// Writes the parameters of `table` into `out`. Returns the number of
// characters written, or 0 when the table is invalid or does not fit.
size_t format_multipath_table(const MultipathTable& table, std::span<char> out);

// Parses parameters as the kernel reports them (DM_TABLE_STATUS with the table
// flag). Groups and paths are stored in the caller's spans; `out` refers to
// them and to `text`. An error names the problem and its offset.
ParseResult parse_multipath_table(std::string_view text, std::span<TableGroup> group_store,
                                  std::span<DevT> path_store, MultipathTable& out);

// True when two tables would drive the kernel identically: same features,
// handler, selectors and paths per group, in order. Used on adoption to skip
// a reload that would change nothing.
bool same_topology(const MultipathTable& a, const MultipathTable& b);

}  // namespace pk::core
