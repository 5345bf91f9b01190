#include "daemon/config/config_loader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

using namespace pk;
using namespace pk::daemon;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

LoadResult load(std::string_view text, core::Config& out) { return load_config_text(text, "t.yaml", out); }

// The error of a text that must not load ("" and a test failure if it loads).
std::string error_of(std::string_view text) {
  core::Config c;
  LoadResult r = load(text, c);
  EXPECT_FALSE(r.ok) << "loaded: " << text;
  return r.error;
}

core::Config loaded(std::string_view text) {
  core::Config c;
  LoadResult r = load(text, c);
  EXPECT_TRUE(r.ok) << r.error;
  return c;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The example with its "#|" example lines turned into configuration.
std::string example_with_examples() {
  std::string text = read_file(PK_CONFIG_EXAMPLE);
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("#|")) line.erase(0, 2);
    out += line + "\n";
  }
  return out;
}

class TempFile {
 public:
  explicit TempFile(std::string_view text, mode_t mode = 0644) {
    char name[] = "/tmp/pk_config_test_XXXXXX";
    int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    path_ = name;
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::fchmod(fd, mode);
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, EmptyInputGivesTheDefaults) {
  for (std::string_view text : {"", "# nothing\n", "---\n", "\n\n", "---\n...\n"}) {
    core::Config c = loaded(text);
    EXPECT_TRUE(equivalent(c, default_config())) << text;
    EXPECT_EQ(c.source, "t.yaml");
  }
}

TEST(ConfigDefaults, ValuesOfTheModel) {
  core::Config c = default_config();
  EXPECT_EQ(c.source, "");
  EXPECT_EQ(c.timing.polling_interval, seconds(5));
  EXPECT_EQ(c.timing.failed_polling_interval, seconds(1));
  EXPECT_EQ(c.timing.checker_timeout, milliseconds(10000));
  EXPECT_EQ(c.limits.max_paths, 4096u);
  EXPECT_EQ(c.limits.max_paths_per_map, 32u);
  EXPECT_EQ(c.limits.heap_reserve_bytes, 16ull << 20);
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_TRUE(c.logging.file.starts_with("/"));
  EXPECT_TRUE(c.logging.file.ends_with("/pathkeeper/pathkeeperd.log")) << c.logging.file;
  EXPECT_EQ(c.control_socket, "/run/pathkeeper/control.sock");
  EXPECT_EQ(c.control_group, "");
  EXPECT_EQ(c.defaults.no_path_retry.kind, core::NoPathRetry::Kind::Time);
  EXPECT_EQ(c.defaults.no_path_retry.duration, seconds(300));
  EXPECT_EQ(c.defaults.failback, core::Failback::Immediate);
  EXPECT_TRUE(c.blacklist_exceptions.empty());
  EXPECT_TRUE(c.maps.empty());
  EXPECT_TRUE(default_config_path().ends_with("/pathkeeper/pathkeeper.yaml"));
}

TEST(ConfigDefaults, BuiltInBlacklistIsDocumentedAndSparesSanDevices) {
  core::Config c = default_config();
  ASSERT_FALSE(c.blacklist.empty());
  std::string example = read_file(PK_CONFIG_EXAMPLE);
  std::vector<std::string> patterns;
  for (const core::DeviceRule& r : c.blacklist) {
    EXPECT_EQ(r.field, core::DeviceRule::Field::Devnode);
    EXPECT_EQ(r.file_position, "built-in");
    EXPECT_NE(example.find(" " + r.pattern), std::string::npos) << r.pattern << " is not documented";
    patterns.push_back(r.pattern);
  }
  for (std::string_view p : {"loop*", "ram*", "zram*", "sr*", "fd*", "dm-*"}) {
    EXPECT_NE(std::find(patterns.begin(), patterns.end(), p), patterns.end()) << p;
  }
  // Paths pathkeeper exists for: SCSI (iSCSI, FC), NVMe-oF, NBD.
  for (std::string_view p : {"sd*", "nvme*", "nbd*"}) {
    EXPECT_EQ(std::find(patterns.begin(), patterns.end(), p), patterns.end()) << p;
  }
}

TEST(ConfigDefaults, UserRulesAddToTheBuiltInOnes) {
  core::Config c = loaded("blacklist:\n  - {devnode: \"sdz\"}\n");
  size_t built_in = default_config().blacklist.size();
  ASSERT_EQ(c.blacklist.size(), built_in + 1);
  EXPECT_EQ(c.blacklist.back().pattern, "sdz");
  EXPECT_EQ(c.blacklist.back().file_position, "t.yaml:2:5");
}

// ---------------------------------------------------------------------------
// The example file

TEST(ConfigExample, LoadsCleanlyAndStatesTheTrueDefaults) {
  core::Config c;
  LoadResult r = load_config_file(PK_CONFIG_EXAMPLE, c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  EXPECT_EQ(c.source, PK_CONFIG_EXAMPLE);
  // Every value written in the example is the default.
  EXPECT_TRUE(equivalent(c, default_config())) << dump_config_yaml(c);
}

TEST(ConfigExample, NamesEveryKeyOfTheSchema) {
  std::string example = read_file(PK_CONFIG_EXAMPLE);
  for (std::string_view key : {"timing:",
                               "polling_interval:",
                               "failed_polling_interval:",
                               "checker_timeout:",
                               "transport_probe_interval:",
                               "limits:",
                               "max_paths:",
                               "max_maps:",
                               "max_paths_per_map:",
                               "max_groups_per_map:",
                               "max_events_in_flight:",
                               "max_clients:",
                               "log_records:",
                               "heap_reserve:",
                               "logging:",
                               "file:",
                               "file_size:",
                               "level:",
                               "journal:",
                               "control:",
                               "socket:",
                               "group:",
                               "naming:",
                               "user_friendly_names:",
                               "alias_prefix:",
                               "bindings_file:",
                               "wwids_file:",
                               "discovery:",
                               "find_multipaths:",
                               "min_paths:",
                               "find_multipaths_timeout:",
                               "defaults:",
                               "grouping:",
                               "selector:",
                               "checker:",
                               "failback:",
                               "no_path_retry:",
                               "hardware_handler:",
                               "pg_init_retries:",
                               "auto_resize:",
                               "marginal_paths:",
                               "lost_lun:",
                               "failures:",
                               "within:",
                               "healthy_for:",
                               "dirty_limit:",
                               "blacklist:",
                               "blacklist_exceptions:",
                               "maps:",
                               "wwid:",
                               "alias:",
                               "paths:",
                               "devnode:",
                               "vendor:",
                               "product:",
                               "property:"}) {
    EXPECT_NE(example.find(key), std::string::npos) << key;
  }
  // The dump writes every key too: whatever it writes, the example documents.
  std::istringstream dump(dump_config_yaml(loaded(example_with_examples())));
  for (std::string line; std::getline(dump, line);) {
    size_t start = line.find_first_not_of(" -{");
    size_t colon = line.find(':');
    if (line.starts_with("#") || start == std::string::npos || colon == std::string::npos) continue;
    std::string key = line.substr(start, colon - start + 1);
    EXPECT_NE(example.find(key), std::string::npos) << key << " is written by the dump but not documented";
  }
}

TEST(ConfigExample, ItsExamplesLoadToo) {
  core::Config c;
  LoadResult r = load_config_text(example_with_examples(), "example", c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  EXPECT_EQ(c.logging.file, "/var/log/pathkeeper/pathkeeperd.log");
  EXPECT_EQ(c.blacklist.size(), default_config().blacklist.size() + 4);
  EXPECT_EQ(c.blacklist_exceptions.size(), 1u);
  ASSERT_EQ(c.maps.size(), 2u);
  EXPECT_EQ(c.maps[0].alias, "db1");
  EXPECT_EQ(c.maps[0].settings.no_path_retry.kind, core::NoPathRetry::Kind::Queue);
  EXPECT_EQ(c.maps[1].wwid, "nbd-export1");
  EXPECT_EQ(c.maps[1].paths, (std::vector<std::string>{"nbd0", "nbd1"}));
  EXPECT_EQ(c.maps[1].settings.checker, core::CheckerKind::DirectIo);
  EXPECT_EQ(c.maps[1].settings.grouping, core::Grouping::Multibus);
}

// ---------------------------------------------------------------------------
// Every key read into the model

constexpr std::string_view kEverything = R"(timing:
  polling_interval: 10s
  failed_polling_interval: 2
  checker_timeout: 1500ms
  transport_probe_interval: 100ms
limits:
  max_paths: 8192
  max_maps: 2048
  max_paths_per_map: 16
  max_groups_per_map: 4
  max_events_in_flight: 4096
  max_clients: 8
  log_records: 65536
  heap_reserve: 128MiB
logging:
  file: /var/log/pk.log
  file_size: 64MiB
  level: debug
  journal: no
control:
  socket: /run/pk.sock
  group: storage-admins
naming:
  user_friendly_names: true
  alias_prefix: san
  bindings_file: /etc/pathkeeper/bindings
  wwids_file: /etc/pathkeeper/wwids
discovery:
  min_paths: 1
defaults:
  grouping: failover
  selector: round-robin
  checker: directio
  failback: 30s
  no_path_retry: 12
  hardware_handler: alua
  pg_init_retries: 10
  auto_resize: off
  lost_lun: queue
  dirty_limit: 256MiB
blacklist:
  - {wwid: "3600508b1001c*"}
  - {vendor: "ATA"}
  - {vendor: "DELL", product: "PERC*"}
  - {property: "ID_ATA"}
blacklist_exceptions:
  - devnode: "vdb"
maps:
  - wwid: "3600a098038314f4d5a2b4d6f4b6e5a41"
    alias: db1
    no_path_retry: queue
    failback: manual
  - wwid: nbd-export1
    paths: [nbd0, nbd1]
    grouping: multibus
    selector: queue-length
    checker: state
    hardware_handler: none
    pg_init_retries: 0
    no_path_retry: 2h
    auto_resize: grow
    lost_lun: fail
    dirty_limit: off
)";

TEST(ConfigLoad, EveryKeyReachesTheModel) {
  core::Config c = loaded(kEverything);
  EXPECT_EQ(c.timing.polling_interval, seconds(10));
  EXPECT_EQ(c.timing.failed_polling_interval, seconds(2));
  EXPECT_EQ(c.timing.checker_timeout, milliseconds(1500));
  EXPECT_EQ(c.timing.transport_probe_interval, milliseconds(100));
  EXPECT_EQ(c.limits, (core::Limits{8192, 2048, 16, 4, 4096, 8, 65536, 128ull << 20}));
  EXPECT_EQ(c.logging.file, "/var/log/pk.log");
  EXPECT_EQ(c.logging.file_size_bytes, 64ull << 20);
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_FALSE(c.logging.journal);
  EXPECT_EQ(c.control_socket, "/run/pk.sock");
  EXPECT_EQ(c.control_group, "storage-admins");
  EXPECT_TRUE(c.user_friendly_names);
  EXPECT_EQ(c.alias_prefix, "san");
  EXPECT_EQ(c.bindings_file, "/etc/pathkeeper/bindings");
  EXPECT_EQ(c.wwids_file, "/etc/pathkeeper/wwids");
  EXPECT_EQ(c.min_paths_for_map, 1u);

  const core::MapSettings& d = c.defaults;
  EXPECT_EQ(d.grouping, core::Grouping::Failover);
  EXPECT_EQ(d.selector, core::Selector::RoundRobin);
  EXPECT_EQ(d.checker, core::CheckerKind::DirectIo);
  EXPECT_EQ(d.failback, core::Failback::Delayed);
  EXPECT_EQ(d.failback_delay, seconds(30));
  EXPECT_EQ(d.no_path_retry.kind, core::NoPathRetry::Kind::Checks);
  EXPECT_EQ(d.no_path_retry.checks, 12u);
  EXPECT_EQ(d.hw_handler, core::HwHandler::Alua);
  EXPECT_EQ(d.pg_init_retries, 10u);
  EXPECT_EQ(d.auto_resize, core::AutoResize::Off);
  EXPECT_EQ(d.lost_lun, core::LostLun::Queue);
  EXPECT_EQ(d.dirty_limit, (core::DirtyLimit{core::DirtyLimit::Kind::Bytes, 10, 256ull << 20}));

  size_t built_in = default_config().blacklist.size();
  ASSERT_EQ(c.blacklist.size(), built_in + 4);
  const core::DeviceRule& wwid = c.blacklist[built_in];
  EXPECT_EQ(wwid.field, core::DeviceRule::Field::Wwid);
  EXPECT_EQ(wwid.pattern, "3600508b1001c*");
  EXPECT_EQ(wwid.file_position, "t.yaml:42:5");
  EXPECT_EQ(c.blacklist[built_in + 1].field, core::DeviceRule::Field::VendorProduct);
  EXPECT_EQ(c.blacklist[built_in + 1].product_pattern, "");
  EXPECT_EQ(c.blacklist[built_in + 2].pattern, "DELL");
  EXPECT_EQ(c.blacklist[built_in + 2].product_pattern, "PERC*");
  EXPECT_EQ(c.blacklist[built_in + 3].field, core::DeviceRule::Field::Property);
  ASSERT_EQ(c.blacklist_exceptions.size(), 1u);
  EXPECT_EQ(c.blacklist_exceptions[0].pattern, "vdb");
  EXPECT_EQ(c.blacklist_exceptions[0].file_position, "t.yaml:47:5");

  ASSERT_EQ(c.maps.size(), 2u);
  EXPECT_EQ(c.maps[0].file_position, "t.yaml:49:5");
  EXPECT_EQ(c.maps[1].alias, "");
  const core::MapSettings& m = c.maps[1].settings;
  EXPECT_EQ(m.grouping, core::Grouping::Multibus);
  EXPECT_EQ(m.selector, core::Selector::QueueLength);
  EXPECT_EQ(m.checker, core::CheckerKind::State);
  EXPECT_EQ(m.hw_handler, core::HwHandler::None);
  EXPECT_EQ(m.pg_init_retries, 0u);
  EXPECT_EQ(m.no_path_retry.kind, core::NoPathRetry::Kind::Time);
  EXPECT_EQ(m.no_path_retry.duration, seconds(7200));
  EXPECT_EQ(m.auto_resize, core::AutoResize::Grow);
  EXPECT_EQ(m.lost_lun, core::LostLun::Fail);
  EXPECT_EQ(core::MapSettings{}.lost_lun, core::LostLun::Fail) << "the default, argued in pathkeeper.yaml(5)";
  EXPECT_EQ(m.dirty_limit.kind, core::DirtyLimit::Kind::Off);
}

TEST(ConfigLoad, MapsGetTheDefaultsWithTheirOwnOverrides) {
  // maps: comes before defaults: in the file; defaults still apply to it.
  core::Config c = loaded(R"(maps:
  - wwid: a
    failback: manual
  - wwid: b
  - wwid: c
    failback: immediate
    no_path_retry: fail
defaults:
  no_path_retry: queue
  failback: 45s
  selector: round-robin
)");
  ASSERT_EQ(c.maps.size(), 3u);
  core::MapSettings a = c.defaults;
  a.failback = core::Failback::Manual;
  a.failback_delay = seconds(0);
  EXPECT_EQ(c.maps[0].settings, a);
  EXPECT_EQ(c.maps[1].settings, c.defaults);
  EXPECT_EQ(c.maps[1].settings.failback_delay, seconds(45));
  EXPECT_EQ(c.maps[1].settings.selector, core::Selector::RoundRobin);
  EXPECT_EQ(c.maps[2].settings.failback, core::Failback::Immediate);
  EXPECT_EQ(c.maps[2].settings.failback_delay, seconds(0));  // no stale delay
  EXPECT_EQ(c.maps[2].settings.no_path_retry, core::NoPathRetry{core::NoPathRetry::Kind::Fail});
  EXPECT_EQ(c.maps[2].settings.selector, core::Selector::RoundRobin);
}

TEST(ConfigLoad, EmptySectionsAndListsAreAllowed) {
  core::Config c = loaded("timing:\nlimits: {}\nblacklist:\nblacklist_exceptions: []\nmaps:\n");
  EXPECT_TRUE(equivalent(c, default_config()));
}

TEST(ConfigLoad, FlowStyleAndQuotedNumbersAreTheSame) {
  core::Config c = loaded("limits: {max_paths: \"100\", max_maps: '10', max_groups_per_map: 10}\n");
  EXPECT_EQ(c.limits.max_paths, 100u);
  EXPECT_EQ(c.limits.max_maps, 10u);
}

// ---------------------------------------------------------------------------
// Errors: each names the file, line and column (1-based) and what is wrong.

TEST(ConfigErrors, YamlSyntax) {
  EXPECT_EQ(error_of("timing: [5s\n"), "t.yaml:2:1: YAML syntax: end of sequence flow not found");
  EXPECT_EQ(error_of("limits:\n  max_paths: 1\n max_maps: 2\n"),
            "t.yaml:3:2: YAML syntax: end of map not found");
  EXPECT_EQ(error_of("timing:\n  \tpolling_interval: 5s\n"),
            "t.yaml:2:3: YAML syntax: a tab in indentation; YAML indents with spaces");
  EXPECT_EQ(error_of("timing: {polling_interval: 5s}\nlimits: [\n"),
            "t.yaml:3:1: YAML syntax: end of sequence flow not found");
}

TEST(ConfigErrors, UnknownKeysWithSuggestions) {
  EXPECT_EQ(error_of("timing:\n  poling_interval: 5s\n"),
            "t.yaml:2:3: unknown key 'poling_interval' in timing (did you mean 'polling_interval'?)");
  EXPECT_EQ(error_of("timming: {}\n"), "t.yaml:1:1: unknown key 'timming' (did you mean 'timing'?)");
  EXPECT_EQ(error_of("discovery:\n  find_multipath: on\n"),
            "t.yaml:2:3: unknown key 'find_multipath' in discovery (did you mean 'find_multipaths'?)");
  EXPECT_EQ(error_of("maps:\n  - wwid: a\n    aliass: b\n"),
            "t.yaml:3:5: unknown key 'aliass' in maps[0] (did you mean 'alias'?)");
  EXPECT_EQ(
      error_of("defaults:\n  path_grouping_policy: multibus\n"),
      "t.yaml:2:3: unknown key 'path_grouping_policy' in defaults; known keys: grouping, selector, checker, "
      "failback, no_path_retry, hardware_handler, pg_init_retries, auto_resize, marginal_paths, lost_lun or "
      "dirty_limit");
  EXPECT_EQ(
      error_of("blacklist:\n  - {devnode: a, protocol: scsi}\n"),
      "t.yaml:2:18: unknown key 'protocol' in blacklist[0]; known keys: devnode, wwid, vendor, product or "
      "property");
  EXPECT_EQ(error_of("defaults:\n  failback_delay: 30s\n"),
            "t.yaml:2:3: unknown key 'failback_delay' in defaults (did you mean 'failback'?)");
  EXPECT_EQ(
      error_of("base: &b {}\ntiming:\n  <<: *b\n"),
      "t.yaml:1:1: unknown key 'base'; known keys: timing, limits, logging, control, naming, discovery, "
      "defaults, blacklist, blacklist_exceptions or maps");
  EXPECT_EQ(error_of("timing:\n  <<: {polling_interval: 5s}\n"),
            "t.yaml:2:3: timing: merge keys ('<<') are not supported; write the keys out");
}

TEST(ConfigErrors, DuplicateKeys) {
  EXPECT_EQ(error_of("limits:\n  max_paths: 10\n  max_paths: 20\n"),
            "t.yaml:3:3: limits.max_paths: is set twice (first at line 2)");
  EXPECT_EQ(error_of("timing: {}\nlimits: {}\ntiming: {}\n"),
            "t.yaml:3:1: timing: is set twice (first at line 1)");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(error_of("timing: 5s\n"),
            "t.yaml:1:9: timing: must be a mapping (key: value), not the value '5s'");
  EXPECT_EQ(error_of("- timing\n"),
            "t.yaml:1:1: the configuration must be a mapping of sections (timing:, limits:, maps:, ...), not "
            "a list");
  EXPECT_EQ(error_of("limits:\n  max_paths: [1]\n"),
            "t.yaml:2:14: limits.max_paths: must be a whole number, not a list");
  EXPECT_EQ(error_of("limits:\n  max_paths:\n"),
            "t.yaml:2:3: limits.max_paths: needs a value: a whole number");
  EXPECT_EQ(error_of("limits:\n  max_paths: ~\n"),
            "t.yaml:2:3: limits.max_paths: needs a value: a whole number");
  EXPECT_EQ(error_of("limits:\n  max_paths: lots\n"),
            "t.yaml:2:14: limits.max_paths: 'lots' is not a whole number (must be between 1 and 1048576)");
  EXPECT_EQ(error_of("limits:\n  max_paths: 1e3\n"),
            "t.yaml:2:14: limits.max_paths: '1e3' is not a whole number (must be between 1 and 1048576)");
  EXPECT_EQ(error_of("logging:\n  journal: maybe\n"),
            "t.yaml:2:12: logging.journal: 'maybe' is not true or false");
  EXPECT_EQ(
      error_of("maps: {wwid: a}\n"),
      "t.yaml:1:7: maps: must be a list of maps such as {wwid: ..., alias: ...} (lines starting with '- '), "
      "not a mapping");
  EXPECT_EQ(error_of("maps:\n  - a\n"),
            "t.yaml:2:5: maps[0]: a map entry is a mapping with at least a wwid, not the value 'a'");
  EXPECT_EQ(
      error_of("maps:\n  - wwid: a\n    paths: nbd0\n"),
      "t.yaml:3:12: maps[0].paths: must be a list of device names such as nbd0 (lines starting with '- '), "
      "not the value 'nbd0'");
  EXPECT_EQ(error_of("{[a]: 1}\n"), "t.yaml:1:2: a key must be a name, not a list");
}

TEST(ConfigErrors, NumbersOutOfRange) {
  EXPECT_EQ(error_of("limits:\n  max_paths: 0\n"),
            "t.yaml:2:14: limits.max_paths: must be between 1 and 1048576, got 0");
  EXPECT_EQ(error_of("limits:\n  max_clients: -1\n"),
            "t.yaml:2:16: limits.max_clients: must be between 1 and 1024, got -1");
  EXPECT_EQ(error_of("limits:\n  max_maps: 99999999999999999999999\n"),
            "t.yaml:2:13: limits.max_maps: must be between 1 and 65536, got 99999999999999999999999");
  EXPECT_EQ(error_of("defaults:\n  pg_init_retries: 51\n"),
            "t.yaml:2:20: defaults.pg_init_retries: must be between 0 and 50, got 51");
  EXPECT_EQ(error_of("defaults:\n  no_path_retry: 0\n"),
            "t.yaml:2:18: defaults.no_path_retry: 0 checks means failing at once: write 'fail'");
  EXPECT_EQ(error_of("limits:\n  heap_reserve: 1MiB\n"),
            "t.yaml:2:17: limits.heap_reserve: must be between 4MiB and 64GiB, got 1MiB");
}

TEST(ConfigErrors, BadEnumValuesListTheAllowedOnes) {
  EXPECT_EQ(error_of("defaults:\n  grouping: multbus\n"),
            "t.yaml:2:13: defaults.grouping: 'multbus' is not one of group_by_prio, group_by_tpg, failover "
            "or multibus "
            "(did you mean 'multibus'?)");
  EXPECT_EQ(
      error_of("defaults:\n  selector: round_robin\n"),
      "t.yaml:2:13: defaults.selector: 'round_robin' is not one of service-time, round-robin or queue-length "
      "(did you mean 'round-robin'?)");
  EXPECT_EQ(error_of("defaults:\n  checker: readsector0\n"),
            "t.yaml:2:12: defaults.checker: 'readsector0' is not one of tur, directio, state or none");
  EXPECT_EQ(error_of("defaults:\n  hardware_handler: emc\n"),
            "t.yaml:2:21: defaults.hardware_handler: 'emc' is not one of auto, alua or none");
  EXPECT_EQ(error_of("defaults:\n  auto_resize: shrink\n"),
            "t.yaml:2:16: defaults.auto_resize: 'shrink' is not one of grow or off");
  EXPECT_EQ(error_of("defaults:\n  lost_lun: retry\n"),
            "t.yaml:2:13: defaults.lost_lun: 'retry' is not one of fail or queue");
  EXPECT_EQ(error_of("defaults:\n  dirty_limit: 0%\n"),
            "t.yaml:2:16: defaults.dirty_limit: '0%' is not a whole percentage from 1% to 100%");
  EXPECT_EQ(error_of("maps:\n  - wwid: a\n    dirty_limit: 150%\n"),
            "t.yaml:3:18: maps[0].dirty_limit: '150%' is not a whole percentage from 1% to 100%");
  EXPECT_EQ(
      error_of("defaults:\n  dirty_limit: lots\n"),
      "t.yaml:2:16: defaults.dirty_limit: 'lots' is not off, a percentage such as 10% or a size such as "
      "256MiB");
  EXPECT_EQ(error_of("defaults:\n  dirty_limit: 4KiB\n"),
            "t.yaml:2:16: defaults.dirty_limit: must be between 1MiB and 1TiB, got 4KiB");
  EXPECT_EQ(error_of("logging:\n  level: warn\n"),
            "t.yaml:2:10: logging.level: 'warn' is not one of error, warning, notice, info or debug "
            "(did you mean 'warning'?)");
  EXPECT_EQ(error_of("defaults:\n  failback: imediate\n"),
            "t.yaml:2:13: defaults.failback: 'imediate' is not immediate, manual, followover or a delay such "
            "as 30s "
            "(did you mean 'immediate'?)");
  EXPECT_EQ(
      error_of("defaults:\n  no_path_retry: forever\n"),
      "t.yaml:2:18: defaults.no_path_retry: 'forever' is not queue, fail, a number of checks (e.g. 12) or a "
      "duration (e.g. 5m)");
  EXPECT_EQ(error_of("maps:\n  - {wwid: a, checker: turr}\n"),
            "t.yaml:2:24: maps[0].checker: 'turr' is not one of tur, directio, state or none (did you mean "
            "'tur'?)");
}

TEST(ConfigErrors, LongValuesAreClippedInMessages) {
  EXPECT_EQ(error_of("logging:\n  level: " + std::string(5000, 'v') + "\n"),
            "t.yaml:2:10: logging.level: '" + std::string(64, 'v') +
                "...' is not one of error, warning, notice, info or debug");
  EXPECT_EQ(error_of(std::string(300, 'k') + ": 1\n"),
            "t.yaml:1:1: unknown key '" + std::string(64, 'k') +
                "...'; known keys: timing, limits, logging, control, naming, discovery, defaults, blacklist, "
                "blacklist_exceptions or maps");
}

TEST(ConfigErrors, Durations) {
  EXPECT_EQ(
      error_of("timing:\n  polling_interval: 5x\n"),
      "t.yaml:2:21: timing.polling_interval: '5x' has an unknown unit 'x'; use ms, s, m or h (a bare number "
      "means seconds)");
  EXPECT_EQ(
      error_of("timing:\n  polling_interval: 1.5s\n"),
      "t.yaml:2:21: timing.polling_interval: '1.5s' has a fraction; use a whole number of a smaller unit");
  EXPECT_EQ(error_of("timing:\n  polling_interval: 1500ms\n"),
            "t.yaml:2:21: timing.polling_interval: '1500ms' is not a whole number of seconds");
  EXPECT_EQ(error_of("timing:\n  polling_interval: 2h\n"),
            "t.yaml:2:21: timing.polling_interval: must be between 1s and 1h, got 2h");
  EXPECT_EQ(error_of("timing:\n  checker_timeout: 50ms\n"),
            "t.yaml:2:20: timing.checker_timeout: must be between 100ms and 10m, got 50ms");
  EXPECT_EQ(error_of("timing:\n  transport_probe_interval: 2m\n"),
            "t.yaml:2:29: timing.transport_probe_interval: must be between 0s and 1m, got 2m");
  EXPECT_EQ(error_of("defaults:\n  failback: 0s\n"),
            "t.yaml:2:13: defaults.failback: must be between 1s and 24h, got 0s");
  EXPECT_EQ(
      error_of("defaults:\n  no_path_retry: 5 m\n"),
      "t.yaml:2:18: defaults.no_path_retry: '5 m' has a space before its unit; write it without, as in 5s");
  EXPECT_EQ(error_of("defaults:\n  no_path_retry: 1000h\n"),
            "t.yaml:2:18: defaults.no_path_retry: must be between 1s and 720h, got 1000h");
}

TEST(ConfigErrors, Sizes) {
  EXPECT_EQ(error_of("logging:\n  file_size: 16MB\n"),
            "t.yaml:2:14: logging.file_size: '16MB': the unit 'MB' is ambiguous; write MiB (powers of 1024)");
  EXPECT_EQ(error_of("logging:\n  file_size: 1048577\n"),
            "t.yaml:2:14: logging.file_size: '1048577' is not a multiple of 4KiB");
  EXPECT_EQ(error_of("logging:\n  file_size: 5GiB\n"),
            "t.yaml:2:14: logging.file_size: must be between 1MiB and 4GiB, got 5GiB");
}

TEST(ConfigErrors, PathsAndNames) {
  EXPECT_EQ(error_of("logging:\n  file: pathkeeperd.log\n"),
            "t.yaml:2:9: logging.file: 'pathkeeperd.log' is not an absolute path");
  EXPECT_EQ(error_of("logging:\n  file: \"\"\n"), "t.yaml:2:9: logging.file: '' is not an absolute path");
  EXPECT_EQ(error_of("naming:\n  bindings_file: /var/lib/\n"),
            "t.yaml:2:18: naming.bindings_file: '/var/lib/' names a directory; name a file");
  EXPECT_EQ(error_of("naming:\n  wwids_file: wwids\n"),
            "t.yaml:2:15: naming.wwids_file: 'wwids' is not an absolute path");
  EXPECT_EQ(loaded("naming:\n  wwids_file: \"\"\n").wwids_file, "") << "no wwids file";
  EXPECT_EQ(
      error_of("naming:\n  alias_prefix: \"mp ath\"\n"),
      "t.yaml:2:17: naming.alias_prefix: 'mp ath' is not a name prefix (printable, no blank, '/' or '#')");
  EXPECT_EQ(error_of("naming:\n  alias_prefix: \"\"\n"),
            "t.yaml:2:17: naming.alias_prefix: '' is not a name prefix (printable, no blank, '/' or '#')");
  EXPECT_EQ(error_of("naming:\n  alias_prefix: " + std::string(33, 'p') + "\n"),
            "t.yaml:2:17: naming.alias_prefix: is 33 characters long; at most 32 are possible");
  std::string long_socket = "/run/" + std::string(103, 's');
  EXPECT_EQ(error_of("control:\n  socket: " + long_socket + "\n"),
            "t.yaml:2:11: control.socket: is 108 characters long; at most 107 are possible");
  EXPECT_EQ(
      error_of("control:\n  group: \"disk admins\"\n"),
      "t.yaml:2:10: control.group: 'disk admins' is not a group name (letters, digits, '_', '-', '.'; at "
      "most 32 characters; or a numeric GID)");
  EXPECT_EQ(loaded("control: {group: \"6\"}\n").control_group, "6");
}

TEST(ConfigErrors, BadGlobPatterns) {
  EXPECT_EQ(
      error_of("blacklist:\n  - {devnode: \"sd[a\"}\n"),
      "t.yaml:2:15: blacklist[0].devnode: the pattern \"sd[a\" has a '[' at character 3 that is not closed "
      "by ']' (a literal '[' is written [[])");
  EXPECT_EQ(
      error_of("blacklist_exceptions:\n  - wwid: \"36[z-a]*\"\n"),
      "t.yaml:2:11: blacklist_exceptions[0].wwid: the pattern \"36[z-a]*\" has the range 'z-a' at character "
      "4, which is empty (its end comes before its start)");
  EXPECT_EQ(
      error_of("blacklist:\n  - devnode: \"\"\n"),
      "t.yaml:2:14: blacklist[0].devnode: the pattern \"\" is empty; a pattern must match something (use "
      "\"*\" for anything)");
  EXPECT_EQ(
      error_of("blacklist:\n  - devnode: /dev/sda\n"),
      "t.yaml:2:14: blacklist[0].devnode: devnode patterns match kernel names without /dev/; write \"sda\"");
}

TEST(ConfigErrors, BadRules) {
  EXPECT_EQ(error_of("blacklist:\n  - \"loop*\"\n"),
            "t.yaml:2:5: blacklist[0]: a rule is a mapping with one of devnode, wwid, vendor (and product), "
            "property; "
            "e.g. {devnode: \"loop*\"}, not the value 'loop*'");
  EXPECT_EQ(error_of("blacklist:\n  - {}\n"),
            "t.yaml:2:5: blacklist[0]: a rule is a mapping with one of devnode, wwid, vendor (and product), "
            "property; "
            "e.g. {devnode: \"loop*\"}, not a mapping");
  EXPECT_EQ(
      error_of("blacklist:\n  - {devnode: \"sd*\", wwid: \"36*\"}\n"),
      "t.yaml:2:22: blacklist[0].wwid: a rule matches one field, and this one already has 'devnode'; put "
      "'wwid' in a rule of its own");
  EXPECT_EQ(
      error_of("blacklist:\n  - product: \"PERC*\"\n"),
      "t.yaml:2:5: blacklist[0].product: needs a vendor in the same rule (vendor: \"*\" matches any vendor)");
  EXPECT_EQ(error_of("blacklist:\n  - {wwid: \"a\", product: \"b\"}\n"),
            "t.yaml:2:17: blacklist[0].product: needs a vendor in the same rule (vendor: \"*\" matches any "
            "vendor)");
  EXPECT_EQ(error_of("blacklist:\n  - {vendor: [a]}\n"),
            "t.yaml:2:14: blacklist[0].vendor: must be a pattern such as \"sd*\", not a list");
}

TEST(ConfigErrors, Maps) {
  EXPECT_EQ(error_of("maps:\n  - alias: db1\n"),
            "t.yaml:2:5: maps[0]: a map needs a wwid (for a disk without one, such as NBD, invent one: "
            "nbd-export1)");
  EXPECT_EQ(error_of("maps:\n  - wwid: a\n    alias: x\n  - wwid: a\n"),
            "t.yaml:4:11: maps[1].wwid: 'a' is already the wwid of the map at t.yaml:2:11");
  EXPECT_EQ(error_of("maps:\n  - {wwid: a, alias: db}\n  - {wwid: b, alias: db}\n"),
            "t.yaml:3:22: maps[1].alias: 'db' is already the alias of the map at t.yaml:2:22");
  EXPECT_EQ(
      error_of("maps:\n  - {wwid: a}\n  - {wwid: b, alias: a}\n"),
      "t.yaml:3:22: maps[1].alias: 'a' is the wwid of the map at t.yaml:2:12; map names must be unique");
  EXPECT_EQ(loaded("maps:\n  - {wwid: a, alias: a}\n").maps.size(), 1u);  // its own wwid: harmless
  EXPECT_EQ(error_of("maps:\n  - {wwid: a, paths: [nbd0, nbd1]}\n  - {wwid: b, paths: [nbd2, nbd1]}\n"),
            "t.yaml:3:29: maps[1].paths[1]: 'nbd1' is already a path of the map at t.yaml:2:29");
  EXPECT_EQ(error_of("maps:\n  - {wwid: a, paths: [nbd0, nbd0]}\n"),
            "t.yaml:2:29: maps[0].paths[1]: 'nbd0' is listed twice in this map");
  EXPECT_EQ(error_of("maps:\n  - {wwid: a, paths: [/dev/nbd0]}\n"),
            "t.yaml:2:23: maps[0].paths[0]: write the kernel name 'nbd0', without /dev/");
  EXPECT_EQ(error_of("maps:\n  - {wwid: \"a b\"}\n"),
            "t.yaml:2:12: maps[0].wwid: 'a b' is not a WWID (printable, no blank or '/')");
  EXPECT_EQ(error_of("maps:\n  - {wwid: " + std::string(123, 'w') + "}\n"),
            "t.yaml:2:12: maps[0].wwid: is 123 characters long; at most 122 fit in a device-mapper UUID "
            "(mpath-<wwid>)");
  EXPECT_EQ(error_of("maps:\n  - {wwid: a, alias: \"x/y\"}\n"),
            "t.yaml:2:22: maps[0].alias: 'x/y' is not a map name (printable, no blank or '/')");
}

TEST(ConfigErrors, MapsBeyondTheLimits) {
  EXPECT_EQ(error_of("limits: {max_maps: 1}\nmaps:\n  - {wwid: a}\n  - {wwid: b}\n"),
            "t.yaml:3:3: maps: lists 2 maps but limits.max_maps is 1");
  EXPECT_EQ(error_of("limits: {max_paths_per_map: 2}\nmaps:\n  - {wwid: a, paths: [a, b, c]}\n"),
            "t.yaml:3:22: maps[0].paths: lists 3 paths but limits.max_paths_per_map is 2");
  EXPECT_EQ(error_of("limits: {max_paths: 3, max_maps: 2, max_paths_per_map: 2, max_groups_per_map: 2}\n"
                     "maps:\n  - {wwid: a, paths: [a, b]}\n  - {wwid: b, paths: [c, d]}\n"),
            "t.yaml:4:26: maps[1].paths[1]: the maps list more paths than limits.max_paths (3)");
}

TEST(ConfigErrors, InconsistentLimits) {
  // Both set: the one that exceeds the other is blamed.
  EXPECT_EQ(error_of("limits:\n  max_paths: 16\n  max_paths_per_map: 64\n"),
            "t.yaml:3:22: limits.max_paths_per_map: 64 is more than limits.max_paths (16): a map's paths are "
            "counted in max_paths");
  EXPECT_EQ(error_of("limits:\n  max_paths: 100\n  max_maps: 200\n"),
            "t.yaml:3:13: limits.max_maps: 200 is more than limits.max_paths (100): every map has at least "
            "one path");
  EXPECT_EQ(
      error_of("limits:\n  max_paths_per_map: 8\n  max_groups_per_map: 9\n"),
      "t.yaml:3:23: limits.max_groups_per_map: 9 is more than limits.max_paths_per_map (8): every path group "
      "has at least one path");
  // Set above a default bound: blamed, and the default named as such.
  EXPECT_EQ(error_of("limits:\n  max_maps: 5000\n"),
            "t.yaml:2:13: limits.max_maps: 5000 is more than limits.max_paths (4096, the default): every map "
            "has at "
            "least one path");
  EXPECT_EQ(
      error_of("limits:\n  max_groups_per_map: 33\n"),
      "t.yaml:2:23: limits.max_groups_per_map: 33 is more than limits.max_paths_per_map (32, the default): "
      "every path group has at least one path");
  EXPECT_EQ(
      error_of("discovery:\n  min_paths: 40\n"),
      "t.yaml:2:14: discovery.min_paths: 40 is more than limits.max_paths_per_map (32, the default): no map "
      "could ever be formed");
  // min_paths does not follow: that would change which disks become maps.
  EXPECT_EQ(
      error_of("limits:\n  max_paths_per_map: 1\n"),
      "t.yaml:2:22: limits.max_paths_per_map: 1 is less than discovery.min_paths (2, the default): no map "
      "could ever be formed");
}

TEST(ConfigLoad, FindMultipathsModesAndTheirTimeout) {
  core::Config d = loaded("");
  EXPECT_EQ(d.find_multipaths, core::FindMultipaths::On);
  EXPECT_EQ(d.min_paths_for_map, 2u);
  EXPECT_EQ(d.find_multipaths_timeout, seconds(10)) << "multipath-tools' 10 s for known arrays";
  EXPECT_EQ(loaded("discovery:\n  find_multipaths: strict\n").find_multipaths, core::FindMultipaths::Strict);
  EXPECT_EQ(loaded("discovery:\n  find_multipaths: greedy\n").find_multipaths, core::FindMultipaths::Greedy);
  core::Config s =
      loaded("discovery:\n  find_multipaths: smart\n  find_multipaths_timeout: 30s\n  min_paths: 3\n");
  EXPECT_EQ(s.find_multipaths, core::FindMultipaths::Smart);
  EXPECT_EQ(s.find_multipaths_timeout, seconds(30));
  EXPECT_EQ(s.min_paths_for_map, 3u);
  // With greedy, the default min_paths no map could reach decides nothing.
  EXPECT_TRUE(load("limits:\n  max_paths_per_map: 1\ndiscovery:\n  find_multipaths: greedy\n", d).ok);
}

TEST(ConfigErrors, FindMultipathsContradictions) {
  EXPECT_EQ(error_of("discovery:\n  find_multipaths: yes\n"),
            "t.yaml:2:20: discovery.find_multipaths: 'yes' is not one of strict, on, greedy or smart");
  EXPECT_EQ(error_of("discovery:\n  find_multipaths: strict\n  min_paths: 2\n"),
            "t.yaml:3:14: discovery.min_paths: is not used with discovery.find_multipaths: strict (at "
            "t.yaml:2:20), "
            "which maps only configured and known WWIDs; remove one of the two");
  EXPECT_EQ(error_of("discovery:\n  min_paths: 1\n  find_multipaths: greedy\n"),
            "t.yaml:2:14: discovery.min_paths: is not used with discovery.find_multipaths: greedy (at "
            "t.yaml:3:20), "
            "which maps every disk with a WWID, as min_paths: 1 would; remove one of the two");
  EXPECT_EQ(
      error_of("discovery:\n  find_multipaths: smart\n  min_paths: 1\n"),
      "t.yaml:3:14: discovery.min_paths: 1 leaves discovery.find_multipaths: smart (at t.yaml:2:20) nothing "
      "to wait for: every disk would be mapped at once; use find_multipaths: greedy, or min_paths 2 or more");
  EXPECT_NE(error_of("discovery:\n  find_multipaths: smart\n  find_multipaths_timeout: 0s\n")
                .find("discovery.find_multipaths_timeout"),
            std::string::npos);
  core::Config c;
  LoadResult r = load("discovery:\n  find_multipaths_timeout: 5s\n", c);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            "t.yaml:2:3: discovery.find_multipaths_timeout: is used only with find_multipaths: smart");
}

TEST(ConfigLoad, UnsetLimitsFollowSmallerOnes) {
  core::Config c = loaded("limits:\n  max_paths: 16\n");
  EXPECT_EQ(c.limits.max_paths, 16u);
  EXPECT_EQ(c.limits.max_paths_per_map, 16u);
  EXPECT_EQ(c.limits.max_groups_per_map, 16u);
  EXPECT_EQ(c.limits.max_maps, 16u);
  c = loaded("limits:\n  max_paths_per_map: 4\n  max_groups_per_map: 2\n");
  EXPECT_EQ(c.limits.max_paths, 4096u);
  EXPECT_EQ(c.limits.max_groups_per_map, 2u);
  EXPECT_EQ(c.limits.max_maps, 1024u);
}

TEST(ConfigErrors, DocumentsBytesAndSize) {
  EXPECT_EQ(
      error_of("timing: {}\n---\nlimits: {}\n"),
      "t.yaml:2:1: a second YAML document; the configuration is one document (remove the second '---')");
  EXPECT_EQ(
      error_of("--- {}\n--- {}\n"),
      "t.yaml:2:1: a second YAML document; the configuration is one document (remove the second '---')");
  // A stray ',' at the top level: yaml-cpp's LoadAll never returns on it.
  EXPECT_EQ(error_of(","), "t.yaml:1:1: YAML syntax: unexpected ','");
  EXPECT_EQ(error_of("timing: {}\n...\n,\n"), "t.yaml:3:1: YAML syntax: unexpected ','");
  EXPECT_EQ(error_of(std::string_view("timing: {}\nlim\0its: {}\n", 23)),
            "t.yaml:2:4: contains a NUL byte; is this a text file?");
  EXPECT_EQ(error_of("blacklist:\n  - {wwid: \"36\xff\"}\n"),
            "t.yaml:2:15: is not valid UTF-8; the configuration is UTF-8 text");
  EXPECT_EQ(error_of(std::string_view("\xff\xfet\0i\0", 6)),
            "t.yaml:1:4: contains a NUL byte; is this a text file?");  // UTF-16
  EXPECT_EQ(error_of("\xff\xfe"), "t.yaml:1:1: is not valid UTF-8; the configuration is UTF-8 text");
  EXPECT_EQ(loaded("blacklist:\n  - {vendor: \"Soci\xc3\xa9t\xc3\xa9\"}\n").blacklist.back().pattern,
            "Soci\xc3\xa9t\xc3\xa9");
  std::string big(kMaxConfigBytes + 1, '#');
  EXPECT_EQ(error_of(big), "t.yaml: is 1048577 bytes; a configuration is at most 1MiB (1048576 bytes)");
  std::string just_fits(kMaxConfigBytes, '\n');
  core::Config c;
  EXPECT_TRUE(load(just_fits, c).ok);
}

TEST(ConfigErrors, HostileStructuresEndInErrors) {
  EXPECT_EQ(error_of(std::string(100000, '[')), "t.yaml:1:1: YAML syntax: nested too deeply (500 levels)");
  std::string dashes;
  for (int i = 0; i < 100000; ++i) dashes += "- ";
  EXPECT_TRUE(error_of(dashes).find("nested too deeply") != std::string::npos);
  // An alias cycle: a list that contains itself.
  EXPECT_EQ(error_of("blacklist: &a [*a]\n"),
            "t.yaml:1:12: blacklist[0]: a rule is a mapping with one of devnode, wwid, vendor (and product), "
            "property; e.g. {devnode: \"loop*\"}, not a list");
  // Aliases repeating a large node: 1 KiB of text standing for 1 GiB.
  std::string bomb = "blacklist:\n  - &r {devnode: \"" + std::string(1000, 'x') + "\"}\n";
  for (int i = 0; i < 50000; ++i) bomb += "  - *r\n";
  std::string e = error_of(bomb);
  EXPECT_TRUE(e.find("the configuration expands to more than 16MiB") != std::string::npos) << e;
}

TEST(ConfigErrors, ArbitraryBytesNeverThrow) {
  std::mt19937 rng(1234);
  const std::string seed(kEverything);
  for (int i = 0; i < 3000; ++i) {
    std::string text = seed;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < edits; ++k) {
      size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          text.erase(at, rng() % 16);
          break;
        default:
          text.insert(at, 1, "[]{}:-&*!|>'\"#\n ,?"[rng() % 18]);
          break;
      }
      if (text.empty()) text = "x";
    }
    core::Config c;
    LoadResult r;
    EXPECT_NO_THROW(r = load(text, c));
    if (!r.ok) {
      EXPECT_TRUE(r.error.starts_with("t.yaml")) << r.error;
    }
  }
}

// ---------------------------------------------------------------------------
// A failed load changes nothing

TEST(ConfigLoad, FailureLeavesTheConfigurationUntouched) {
  core::Config running = loaded(kEverything);
  core::Config before = running;
  for (std::string_view bad : {"timing:\n  polling_interval: 7s\n  nonsense: 1\n",
                               "timing: {polling_interval: 7s}\nmaps:\n  - {wwid: a}\n  - {wwid: a}\n",
                               "limits: {max_paths: 8, max_paths_per_map: 16}\n", "timing: [\n"}) {
    LoadResult r = load_config_text(bad, "bad.yaml", running);
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(equivalent(running, before)) << bad;
    EXPECT_EQ(running.source, "t.yaml");
    EXPECT_EQ(running.maps.size(), 2u);
    EXPECT_EQ(running.timing.polling_interval, seconds(10));
  }
  EXPECT_FALSE(load_config_file("/nonexistent/pathkeeper.yaml", running).ok);
  EXPECT_TRUE(equivalent(running, before));
}

TEST(ConfigLoad, ReconfigureKeepsTheRunningLimits) {
  core::Limits running{16, 8, 4, 2, 64, 4, 1024, 8ull << 20};
  LoadOptions options;
  options.running_limits = &running;
  core::Config c;
  LoadResult r = load_config_text(
      "limits:\n  max_paths: 32\n  heap_reserve: 16MiB\nmaps:\n  - {wwid: a, paths: [x, y, z]}\n", "t.yaml",
      c, options);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(c.limits, running);
  EXPECT_EQ(
      r.warnings,
      (std::vector<std::string>{
          // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): each message is split over two lines
          "t.yaml:2:14: limits.max_paths: changes only at the next start; the running daemon keeps 16 (this "
          "file: 32)",
          "t.yaml:1:1: limits.max_maps: changes only at the next start; the running daemon keeps 8 (this "
          "file: "
          "32)",
          "t.yaml:1:1: limits.max_paths_per_map: changes only at the next start; the running daemon keeps 4 "
          "(this file: 32)",
          "t.yaml:1:1: limits.max_groups_per_map: changes only at the next start; the running daemon keeps 2 "
          "(this file: 32)",
          "t.yaml:1:1: limits.max_events_in_flight: changes only at the next start; the running daemon keeps "
          "64 (this file: 1024)",
          "t.yaml:1:1: limits.max_clients: changes only at the next start; the running daemon keeps 4 (this "
          "file: 16)",
          "t.yaml:1:1: limits.log_records: changes only at the next start; the running daemon keeps 1024 "
          "(this "
          "file: 8192)",
          "t.yaml:3:17: limits.heap_reserve: changes only at the next start; the running daemon keeps 8MiB "
          "(this file: 16MiB)",
      }));
  // Maps are checked against the limits the daemon runs with.
  c = default_config();
  r = load_config_text("maps:\n  - {wwid: a, paths: [v, w, x, y, z]}\n", "t.yaml", c, options);
  EXPECT_EQ(r.error, "t.yaml:2:22: maps[0].paths: lists 5 paths but limits.max_paths_per_map is 4");
  running.max_paths_per_map = 1;
  EXPECT_EQ(load_config_text("", "t.yaml", c, options).error,
            "t.yaml: discovery.min_paths: 2 (the default) is more than the running limits.max_paths_per_map "
            "(1): no "
            "map could ever be formed");
  // Unchanged limits: nothing to say.
  running = default_config().limits;
  r = load_config_text("", "t.yaml", c, options);
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.warnings.empty());
}

// ---------------------------------------------------------------------------
// Warnings: accepted, but probably not what was meant.

TEST(ConfigWarnings, SettingsWithoutEffect) {
  core::Config c;
  LoadResult r = load(R"(timing:
  failed_polling_interval: 10s
naming:
  bindings_file: /etc/pk/bindings
  alias_prefix: san
defaults:
  grouping: multibus
  failback: 30s
maps:
  - wwid: a
    hardware_handler: none
    pg_init_retries: 5
)",
                      c);
  ASSERT_TRUE(r.ok) << r.error;
  // NOLINTBEGIN(bugprone-suspicious-missing-comma): messages too long for a line, split in two literals
  EXPECT_EQ(r.warnings,
            (std::vector<std::string>{
                "t.yaml:8:3: defaults.failback: has no effect with grouping multibus (all paths in one "
                "group)",
                "t.yaml:2:28: timing.failed_polling_interval: failed paths (every 10s) are checked less "
                "often than healthy ones (every 5s)",
                "t.yaml:4:3: naming.bindings_file: is used only with user_friendly_names: true",
                "t.yaml:5:3: naming.alias_prefix: is used only with user_friendly_names: true",
                "t.yaml:12:5: maps[0].pg_init_retries: has no effect with hardware_handler none",
            }));
  // NOLINTEND(bugprone-suspicious-missing-comma)
}

// ---------------------------------------------------------------------------
// Files

TEST(ConfigFile, ReadsAndNamesTheFile) {
  TempFile f("timing:\n  polling_interval: 3s\n");
  core::Config c;
  LoadResult r = load_config_file(f.path(), c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(c.source, f.path());
  EXPECT_EQ(c.timing.polling_interval, seconds(3));

  TempFile bad("timing:\n  polling_interval: 3\n  polling_interval: 4\n");
  r = load_config_file(bad.path(), c);
  EXPECT_EQ(r.error, bad.path() + ":3:3: timing.polling_interval: is set twice (first at line 2)");
}

TEST(ConfigFile, ErrorsWithoutAPosition) {
  core::Config c;
  EXPECT_EQ(load_config_file("/nonexistent/pk.yaml", c).error,
            "/nonexistent/pk.yaml: cannot open: No such file or directory");
  EXPECT_EQ(load_config_file("/tmp", c).error, "/tmp: is not a regular file");
  TempFile big(std::string(kMaxConfigBytes + 10, '#'));
  EXPECT_EQ(load_config_file(big.path(), c).error,
            big.path() + ": is larger than 1MiB; a configuration is at most 1048576 bytes");
}

TEST(ConfigFile, WarnsWhenAnyoneMayWriteIt) {
  TempFile f("", 0666);
  core::Config c;
  LoadResult r = load_config_file(f.path(), c);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            f.path() + ": is writable by every user, and it configures a daemon running as root (chmod o-w)");
}

// ---------------------------------------------------------------------------
// Dump: the effective configuration as YAML, loading back to the same.

TEST(ConfigDump, RoundTripsTheDefaults) {
  core::Config d = default_config();
  std::string yaml = dump_config_yaml(d);
  core::Config back;
  LoadResult r = load(yaml, back);
  ASSERT_TRUE(r.ok) << r.error << "\n" << yaml;
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(equivalent(back, d)) << yaml;
  // Built-in rules are named once, in a comment, not repeated as rules.
  EXPECT_NE(yaml.find("# built-in, always applied (devnode): loop* ram*"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("blacklist: []"), std::string::npos) << yaml;
}

TEST(ConfigDump, RoundTripsEveryKey) {
  for (const std::string& text : {std::string(kEverything), example_with_examples()}) {
    core::Config c = loaded(text);
    std::string yaml = dump_config_yaml(c);
    core::Config back;
    LoadResult r = load(yaml, back);
    ASSERT_TRUE(r.ok) << r.error << "\n" << yaml;
    EXPECT_TRUE(equivalent(back, c)) << yaml;
    EXPECT_EQ(dump_config_yaml(back).substr(yaml.find('\n')), yaml.substr(yaml.find('\n')));
  }
}

TEST(ConfigDump, WritesMapsWithOnlyTheirOverrides) {
  core::Config c = loaded(kEverything);
  std::string yaml = dump_config_yaml(c);
  EXPECT_NE(yaml.find("  - wwid: 3600a098038314f4d5a2b4d6f4b6e5a41\n    alias: db1\n    failback: manual\n"
                      "    no_path_retry: queue\n  - wwid: nbd-export1\n"),
            std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("failback: 30s"), std::string::npos);
  EXPECT_NE(yaml.find("no_path_retry: 12"), std::string::npos);
  EXPECT_NE(yaml.find("heap_reserve: 128MiB"), std::string::npos);
  EXPECT_NE(yaml.find("checker_timeout: 1500ms"), std::string::npos);
  EXPECT_NE(yaml.find("# pathkeeperd effective configuration (from t.yaml)"), std::string::npos);
}

TEST(ConfigDump, RoundTripsAwkwardStrings) {
  core::Config c = default_config();
  core::DeviceRule r;
  r.field = core::DeviceRule::Field::VendorProduct;
  r.pattern = "*";
  r.product_pattern = "a[*][0-9]\"#";
  c.blacklist.push_back(r);
  r.field = core::DeviceRule::Field::Wwid;
  r.pattern = "'quoted' & #x";
  r.product_pattern = "";
  c.blacklist_exceptions.push_back(r);
  core::MapConfig m;
  m.wwid = "#1:x";
  m.alias = "null";
  m.paths = {"true", "-"};
  m.settings = c.defaults;
  c.maps.push_back(m);
  c.control_group = "";
  std::string yaml = dump_config_yaml(c);
  core::Config back;
  LoadResult lr = load(yaml, back);
  ASSERT_TRUE(lr.ok) << lr.error << "\n" << yaml;
  EXPECT_TRUE(equivalent(back, c)) << yaml;
}

TEST(ConfigEquivalent, SeesEveryDifferenceButPositions) {
  core::Config a = loaded(kEverything);
  core::Config b = loaded(kEverything);
  b.source = "elsewhere";
  b.maps[0].file_position = "x:1:1";
  b.blacklist.back().file_position = "x:2:2";
  EXPECT_TRUE(equivalent(a, b));
  b.maps[1].paths[0] = "nbd9";
  EXPECT_FALSE(equivalent(a, b));
  b = a;
  b.blacklist.back().product_pattern = "x";
  EXPECT_FALSE(equivalent(a, b));
  b = a;
  b.logging.journal = !a.logging.journal;
  EXPECT_FALSE(equivalent(a, b));
  b = a;
  b.min_paths_for_map = 3;
  EXPECT_FALSE(equivalent(a, b));
  b = a;
  b.find_multipaths = core::FindMultipaths::Smart;
  EXPECT_FALSE(equivalent(a, b));
  b.find_multipaths_timeout = a.find_multipaths_timeout + core::Seconds{1};
  a.find_multipaths = core::FindMultipaths::Smart;
  EXPECT_FALSE(equivalent(a, b)) << "smart's timeout";
  a.find_multipaths = b.find_multipaths = core::FindMultipaths::Greedy;
  EXPECT_TRUE(equivalent(a, b)) << "greedy reads neither min_paths nor the timeout";
  a = loaded(kEverything);
  b = a;
  b.alias_prefix = "x";
  EXPECT_FALSE(equivalent(a, b));
  b = a;
  b.wwids_file = "";
  EXPECT_FALSE(equivalent(a, b));
}

// A tripwire: when the model grows, the loader, the dump, equivalent() and the
// example must learn the new field. Sizes as on x86-64 with libstdc++.
TEST(ConfigModel, HasTheFieldsTheLoaderKnows) {
#if defined(__x86_64__) && defined(__GLIBCXX__)
  EXPECT_EQ(sizeof(core::Config), 536u)
      << "core::Config changed: update daemon/config (loader, dump, equivalent)";
  EXPECT_EQ(sizeof(core::MapSettings), 96u) << "core::MapSettings changed: update daemon/config";
  EXPECT_EQ(sizeof(core::MapConfig), 216u) << "core::MapConfig changed: update daemon/config";
  EXPECT_EQ(sizeof(core::DeviceRule), 104u) << "core::DeviceRule changed: update daemon/config";
  EXPECT_EQ(sizeof(core::Limits), 40u) << "core::Limits changed: update daemon/config";
#else
  GTEST_SKIP() << "sizes known for x86-64 only";
#endif
}

TEST(ConfigMarginalPaths, OnByDefaultWithTheDocumentedNumbers) {
  core::Config c = loaded("");
  EXPECT_TRUE(c.defaults.marginal.enabled);
  EXPECT_EQ(c.defaults.marginal.failures, 2u);
  EXPECT_EQ(c.defaults.marginal.within, seconds(60));
  EXPECT_EQ(c.defaults.marginal.healthy_for, seconds(120));
}

TEST(ConfigMarginalPaths, DefaultsAndPerMapOverrides) {
  core::Config c = loaded(R"(
defaults:
  marginal_paths: {failures: 2, within: 30s}
maps:
  - wwid: a
    marginal_paths: off
  - wwid: b
    marginal_paths:
      healthy_for: 10m
  - wwid: c
)");
  EXPECT_TRUE(c.defaults.marginal.enabled);
  EXPECT_EQ(c.defaults.marginal.failures, 2u);
  EXPECT_EQ(c.defaults.marginal.within, seconds(30));
  EXPECT_EQ(c.defaults.marginal.healthy_for, seconds(120));
  EXPECT_FALSE(c.maps[0].settings.marginal.enabled);
  EXPECT_EQ(c.maps[1].settings.marginal.failures, 2u) << "keys not given keep the defaults";
  EXPECT_EQ(c.maps[1].settings.marginal.healthy_for, seconds(600));
  EXPECT_EQ(c.maps[2].settings.marginal, c.defaults.marginal);

  core::Config off = loaded("defaults:\n  marginal_paths: off\nmaps:\n  - {wwid: a, marginal_paths: on}\n");
  EXPECT_FALSE(off.defaults.marginal.enabled);
  EXPECT_TRUE(off.maps[0].settings.marginal.enabled);
}

TEST(ConfigMarginalPaths, DumpLoadsBackTheSame) {
  core::Config c = loaded(R"(
defaults:
  marginal_paths: {failures: 7, within: 2m, healthy_for: 90s}
maps:
  - {wwid: a, marginal_paths: off}
)");
  std::string dump = dump_config_yaml(c);
  EXPECT_NE(dump.find("marginal_paths"), std::string::npos) << dump;
  core::Config back = loaded(dump);
  EXPECT_EQ(back.defaults.marginal, c.defaults.marginal) << dump;
  EXPECT_EQ(back.maps[0].settings.marginal.enabled, false) << dump;
}

TEST(ConfigMarginalPaths, ErrorsNameTheKeyAndPlace) {
  EXPECT_EQ(error_of("defaults:\n  marginal_paths: sometimes\n"),
            "t.yaml:2:19: defaults.marginal_paths: 'sometimes' is not off, on, or {failures: 2, within: 1m, "
            "healthy_for: 2m}");
  EXPECT_EQ(error_of("defaults:\n  marginal_paths:\n    failures: 0\n"),
            "t.yaml:3:15: defaults.marginal_paths.failures: must be between 1 and 15, got 0");
  EXPECT_EQ(error_of("defaults:\n  marginal_paths:\n    failures: 16\n"),
            "t.yaml:3:15: defaults.marginal_paths.failures: must be between 1 and 15, got 16");
  EXPECT_EQ(error_of("maps:\n  - wwid: a\n    marginal_paths: {within: 0s}\n"),
            "t.yaml:3:30: maps[0].marginal_paths.within: must be between 1s and 24h, got 0s");
  EXPECT_EQ(error_of("defaults:\n  marginal_paths: {healthy_for: 1500ms}\n"),
            "t.yaml:2:33: defaults.marginal_paths.healthy_for: '1500ms' is not a whole number of seconds");
  EXPECT_EQ(error_of("defaults:\n  marginal_paths: {recovery: 2m}\n"),
            "t.yaml:2:20: unknown key 'recovery' in defaults.marginal_paths; known keys: failures, within or "
            "healthy_for");
  EXPECT_EQ(
      error_of("defaults:\n  marginal_paths: [4, 1m]\n"),
      "t.yaml:2:19: defaults.marginal_paths: must be off, on, or {failures: 2, within: 1m, healthy_for: 2m}, "
      "not a list");
  EXPECT_EQ(error_of("defaults:\n  marginal_paths:\n"),
            "t.yaml:2:3: defaults.marginal_paths: needs a value: off, on, or {failures: 2, within: 1m, "
            "healthy_for: "
            "2m}");
}
