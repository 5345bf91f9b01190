// The state the daemon publishes for readers (CLI, D-Bus): copies of every
// path and map record plus the daemon's own measurements. The loop fills the
// back buffer and publishes; the service thread takes the latest. Neither ever
// waits for the other (design rule 7: reading state never waits for writing it).
//
// Threads: SnapshotExchange has exactly one writer (the loop) and one reader
// (the service thread). Blocking: never. Allocation: init() only.
#pragma once

#include <cstdint>
#include <memory>

#include "core/config.h"
#include "core/fixed_string.h"
#include "core/host_guard.h"
#include "core/model.h"
#include "core/startup.h"
#include "core/triple_buffer.h"

namespace pk::core {

struct PathRecord {
  FixedString<32> dev;
  DevT devt;
  FixedString<256> wwid;
  FixedString<128> map;  // "" when in no map
  CheckerKind checker = CheckerKind::Tur;
  PathState state = PathState::Unchecked;
  DmState dm_state = DmState::Unknown;
  uint16_t group = 0;
  uint8_t priority = 0;
  Alua alua;  // ALUA state and port group (state None: the LUN has no ALUA)
  bool admin_failed = false;
  bool marginal = false;         // failing too often: held failed in the kernel (core/marginal.h)
  int64_t marginal_age_ms = 0;   // time since it was marked; 0 when not marginal
  uint32_t recent_failures = 0;  // failures within its map's marginal_paths.within
  int64_t state_age_ms = 0;      // time since the state last changed
  uint64_t checks = 0;
  uint64_t failures = 0;
  uint64_t timeouts = 0;
  FixedString<200> no_map_because;  // why it is in no map though its WWID has one ("" otherwise)
};

struct MapRecord {
  FixedString<128> name;
  FixedString<256> wwid;
  DevT devt;  // the dm device, 0:0 until created
  uint64_t sectors = 0;
  MapSettings settings;
  bool in_kernel = false;
  bool queueing = false;
  bool all_down = false;
  bool retry_exhausted = false;
  bool lun_lost = false;  // every path says the LUN is gone: I/O fails (lost_lun)
  bool queueing_disabled_by_admin = false;
  int64_t all_down_ms = 0;  // how long no path has been usable
  uint16_t paths_total = 0;
  uint16_t paths_active = 0;  // active in the kernel
  uint16_t paths_usable = 0;  // up or ghost by the checks
  uint16_t current_group = 0;
  uint16_t group_count = 0;
  uint64_t path_faults = 0;
  uint64_t queue_disables = 0;
  FixedString<160> kept_because;  // every path removed, the map kept: why ("" otherwise)
  FixedString<200> resize_note;   // a size its paths said that was not applied: why ("" otherwise)
  DirtyCapState dirty_cap = DirtyCapState::Pending;
  FixedString<200> dirty_cap_note;  // the values written, or why none
};

struct PoolUse {
  uint32_t used = 0;
  uint32_t limit = 0;
};

// One place log records go (the file, journald, stderr).
struct LogSinkUse {
  bool active = false;
  uint64_t written = 0;
  uint64_t dropped = 0;       // records it lost
  uint64_t write_errors = 0;  // failed writes
  uint64_t would_block = 0;   // writes put off because they would have waited
};

// A file the daemon keeps for other tools: the bindings file (friendly
// names) or the wwids file (WWIDs made into maps).
struct NameFileUse {
  FixedString<256> file;      // "" when not kept
  PoolUse entries;            // the table behind it (bindings, WWIDs)
  bool pending = false;       // the newest entries are not on disk yet
  uint64_t writes = 0;        // times written (temp file, fsync, rename)
  uint64_t write_errors = 0;  // failed attempts (each one is retried)
  uint64_t refused = 0;       // entries not kept: the table was full, or a name could not be given
  FixedString<256> error;     // the last failure, "" once a write succeeds
};

// What the daemon measures of itself (design rule 1: proven, not hoped for).
struct DaemonStatus {
  int32_t pid = 0;
  bool ready = false;
  int64_t uptime_ms = 0;
  uint64_t memory_locked_bytes = 0;
  uint64_t heap_bytes = 0;
  uint64_t heap_bytes_at_ready = 0;
  uint64_t minor_faults_since_ready = 0;
  uint64_t major_faults_since_ready = 0;
  uint32_t threads = 0;
  uint32_t threads_at_ready = 0;
  uint32_t threads_io_flusher = 0;
  PoolUse paths, maps, clients, log_records;
  uint64_t checks_total = 0;
  uint64_t paths_refused = 0;
  uint64_t maps_refused = 0;
  uint64_t actions_dropped = 0;
  uint64_t late_results = 0;
  uint64_t dm_errors = 0;
  uint64_t log_dropped = 0;
  uint64_t log_write_errors = 0;
  LogSinkUse log_file, log_journal, log_stderr;
  uint64_t reconfigures = 0;
  uint64_t requests = 0;       // control socket requests read, whatever their outcome
  uint64_t error_replies = 0;  // ... answered with an error (malformed, refused, failed)
  uint64_t refused_busy = 0;   // connections over limits.max_clients, answered "busy"
  FixedString<256> config_source;
  FixedString<256> last_error;  // the latest control-plane error, for operators
  NameFileUse bindings_file, wwids_file;
  StartupReport startup;    // what the daemon started without, and why (core/startup.h)
  BackstopStatus backstop;  // dm_multipath's queue_if_no_path_timeout_secs (core/host_guard.h)
};

struct Snapshot {
  uint64_t generation = 0;
  DaemonStatus status;
  uint32_t path_count = 0;
  uint32_t map_count = 0;
  std::unique_ptr<PathRecord[]> paths;  // path_count valid, in slot order (readers sort)
  std::unique_ptr<MapRecord[]> maps;    // map_count valid, in slot order (readers sort)

  void init(uint32_t max_paths, uint32_t max_maps);
};

// The loop's snapshots handed to the service thread: back(), publish() and
// latest() of the triple buffer (core/triple_buffer.h), sized at init.
class SnapshotExchange : public TripleBuffer<Snapshot> {
 public:
  void init(uint32_t max_paths, uint32_t max_maps);
};

}  // namespace pk::core
