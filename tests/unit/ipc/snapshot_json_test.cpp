// The snapshot as JSON: every document parsed back with nlohmann-json and
// checked field by field; escaping; overflow; the size bounds; no allocation.
#include "core/snapshot_json.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/heap_guard.h"
#include "tests/unit/ipc/sample_snapshot.h"

using namespace pk::core;
using nlohmann::json;

namespace {

class SnapshotJson : public ::testing::Test {
 protected:
  void SetUp() override {
    snap.init(8, 4);
    pk::test::fill_sample(snap);
  }

  // Renders with `fn`, checks the writer agrees, parses the result.
  template <typename Fn>
  json render(Fn fn) {
    FixedWriter w(buf);
    EXPECT_TRUE(fn(w));
    EXPECT_FALSE(w.overflowed());
    return json::parse(w.view());
  }

  Snapshot snap;
  std::vector<char> buf = std::vector<char>(1 << 16);
  uint32_t scratch[8] = {};
};

std::string escaped(std::string_view s) {
  char out[512];
  FixedWriter w(out);
  write_json_string(w, s);
  return std::string(w.view());
}

TEST_F(SnapshotJson, PathsListEveryFieldOfEveryPath) {
  json doc = render([&](FixedWriter& w) { return render_paths(snap, w); });
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["generation"], 42);
  ASSERT_EQ(doc["paths"].size(), 5u);
  const json& p = doc["paths"][3];
  EXPECT_EQ(p["dev"], "sdd");
  EXPECT_EQ(p["devt"], "8:48");
  EXPECT_EQ(p["wwid"], "360014051234abcd");
  EXPECT_EQ(p["map"], "mpatha");
  EXPECT_EQ(p["checker"], "tur");
  EXPECT_EQ(p["state"], "down");
  EXPECT_EQ(p["dm_state"], "failed");
  EXPECT_EQ(p["group"], 2);
  EXPECT_EQ(p["priority"], 10);
  EXPECT_EQ(p["admin_failed"], true);
  EXPECT_EQ(p["state_age_ms"], 12000);
  EXPECT_EQ(p["checks"], 880);
  EXPECT_EQ(p["failures"], 2);
  EXPECT_EQ(p["timeouts"], 1);
  EXPECT_EQ(p["alua"], "active/non-optimized");
  EXPECT_EQ(p["port_group"], 20);
  EXPECT_EQ(p["preferred"], false);
  EXPECT_EQ(p["marginal"], false);
  EXPECT_EQ(p["marginal_age_ms"], 0);
  EXPECT_EQ(p["recent_failures"], 0);
  EXPECT_EQ(p["no_map_because"], "") << "in its map";
  EXPECT_EQ(p.size(), 21u) << p.dump();
  EXPECT_EQ(doc["paths"][1]["preferred"], true);
  EXPECT_EQ(doc["paths"][0]["alua"], "none");
  EXPECT_EQ(doc["paths"][0]["port_group"], 0);
  EXPECT_EQ(doc["paths"][0]["checker"], "directio");
  EXPECT_EQ(doc["paths"][4]["map"], "");
  EXPECT_EQ(doc["paths"][4]["state"], "unchecked");
  EXPECT_EQ(doc["paths"][4]["dm_state"], "unknown");
  EXPECT_EQ(doc["paths"][4]["wwid"], "ATA \"odd\" \\disk\t1");
}

TEST_F(SnapshotJson, MapsListEveryFieldOfEveryMap) {
  json doc = render([&](FixedWriter& w) { return render_maps(snap, w); });
  EXPECT_EQ(doc["version"], 1);
  ASSERT_EQ(doc["maps"].size(), 2u);
  const json& a = doc["maps"][0];
  EXPECT_EQ(a["name"], "mpatha");
  EXPECT_EQ(a["wwid"], "360014051234abcd");
  EXPECT_EQ(a["uuid"], "mpath-360014051234abcd");
  EXPECT_EQ(a["devt"], "253:3");
  EXPECT_EQ(a["dm_name"], "dm-3");
  EXPECT_EQ(a["size_bytes"], 4294967296ull);
  EXPECT_EQ(a["in_kernel"], true);
  EXPECT_EQ(a["queueing"], true);
  EXPECT_EQ(a["queueing_disabled_by_admin"], false);
  EXPECT_EQ(a["retry_exhausted"], false);
  EXPECT_EQ(a["all_paths_down"], false);
  EXPECT_EQ(a["all_down_ms"], 0);
  EXPECT_EQ(a["paths_total"], 3);
  EXPECT_EQ(a["paths_active"], 2);
  EXPECT_EQ(a["paths_usable"], 2);
  EXPECT_EQ(a["current_group"], 1);
  EXPECT_EQ(a["group_count"], 2);
  EXPECT_EQ(a["path_faults"], 4);
  EXPECT_EQ(a["queue_disables"], 0);
  EXPECT_EQ(a["grouping"], "group_by_prio");
  EXPECT_EQ(a["selector"], "service-time");
  EXPECT_EQ(a["failback"], "immediate");
  EXPECT_EQ(a["failback_delay_s"], 0);
  EXPECT_EQ(a["checker"], "tur");
  EXPECT_EQ(a["hw_handler"], "auto");
  EXPECT_EQ(a["pg_init_retries"], 50);
  EXPECT_EQ(a["no_path_retry"], json({{"mode", "queue"}}));
  EXPECT_EQ(a["auto_resize"], "grow");
  EXPECT_EQ(a["kept_because"], "");
  EXPECT_EQ(a["resize_note"], "");
  EXPECT_EQ(a["dirty_limit"], "10%");
  EXPECT_EQ(a["dirty_cap"], "not-strict");
  EXPECT_EQ(a["dirty_cap_note"], "max_ratio 10; not strict");
  EXPECT_EQ(a["lun_lost"], false);
  EXPECT_EQ(a.size(), 34u) << a.dump();
  EXPECT_FALSE(a.contains("groups")) << "the list has no topology";

  const json& b = doc["maps"][1];
  EXPECT_EQ(b["no_path_retry"], json({{"mode", "checks"}, {"checks", 3}}));
  EXPECT_EQ(b["failback"], "delayed");
  EXPECT_EQ(b["failback_delay_s"], 30);
  EXPECT_EQ(b["grouping"], "failover");
  EXPECT_EQ(b["selector"], "round-robin");
  EXPECT_EQ(b["checker"], "directio");
  EXPECT_EQ(b["hw_handler"], "none");
  EXPECT_EQ(b["all_paths_down"], true);
  EXPECT_EQ(b["all_down_ms"], 65000);
  EXPECT_EQ(b["queue_disables"], 2);
  EXPECT_EQ(b["auto_resize"], "off");
  EXPECT_EQ(b["kept_because"], "it is open (mounted, or held by LVM or another device); open count 1");
  EXPECT_EQ(b["dirty_limit"], "256 MiB");
  EXPECT_EQ(b["dirty_cap"], "pending");
  EXPECT_EQ(b["dirty_cap_note"], "");
}

TEST_F(SnapshotJson, NoPathRetryTimeAndFailModes) {
  snap.maps[0].settings.no_path_retry.kind = NoPathRetry::Kind::Time;
  snap.maps[0].settings.no_path_retry.duration = Seconds(300);
  snap.maps[1].settings.no_path_retry.kind = NoPathRetry::Kind::Fail;
  json doc = render([&](FixedWriter& w) { return render_maps(snap, w); });
  EXPECT_EQ(doc["maps"][0]["no_path_retry"], json({{"mode", "time"}, {"seconds", 300}}));
  EXPECT_EQ(doc["maps"][1]["no_path_retry"], json({{"mode", "fail"}}));
}

TEST_F(SnapshotJson, AMapNotInTheKernelHasNoDmName) {
  snap.maps[0].in_kernel = false;
  snap.maps[0].devt = {};
  json doc = render([&](FixedWriter& w) { return render_maps(snap, w); });
  EXPECT_EQ(doc["maps"][0]["dm_name"], "");
  EXPECT_EQ(doc["maps"][0]["devt"], "0:0");
}

TEST_F(SnapshotJson, TopologyGroupsPathsUnderTheirMaps) {
  json doc = render([&](FixedWriter& w) { return render_topology(snap, scratch, w); });
  EXPECT_EQ(doc["version"], 1);
  ASSERT_EQ(doc["maps"].size(), 2u);
  const json& a = doc["maps"][0];
  EXPECT_EQ(a["name"], "mpatha");
  EXPECT_EQ(a["uuid"], "mpath-360014051234abcd");
  ASSERT_EQ(a["groups"].size(), 2u);
  const json& g1 = a["groups"][0];
  EXPECT_EQ(g1["group"], 1);
  EXPECT_EQ(g1["state"], "active");
  EXPECT_EQ(g1["priority"], 50);
  EXPECT_EQ(g1["selector"], "service-time");
  ASSERT_EQ(g1["paths"].size(), 2u);
  EXPECT_EQ(g1["paths"][0], json({{"dev", "sdb"},
                                  {"devt", "8:16"},
                                  {"alua", "active/optimized"},
                                  {"checker", "tur"},
                                  {"state", "up"},
                                  {"dm_state", "active"},
                                  {"priority", 50},
                                  {"admin_failed", false},
                                  {"marginal", false}}));
  EXPECT_EQ(g1["paths"][1]["dev"], "sdc");
  const json& g2 = a["groups"][1];
  EXPECT_EQ(g2["group"], 2);
  EXPECT_EQ(g2["state"], "enabled");
  EXPECT_EQ(g2["priority"], 10);
  ASSERT_EQ(g2["paths"].size(), 1u);
  EXPECT_EQ(g2["paths"][0]["dev"], "sdd");
  EXPECT_EQ(g2["paths"][0]["admin_failed"], true);

  const json& b = doc["maps"][1];
  ASSERT_EQ(b["groups"].size(), 1u);
  EXPECT_EQ(b["groups"][0]["paths"][0]["dev"], "nbd0");
  EXPECT_EQ(b["groups"][0]["paths"][0]["checker"], "directio");
}

TEST_F(SnapshotJson, TopologyOrdersGroupsAndPutsUngroupedPathsLast) {
  // A member path with no group yet, and the paths out of dev order.
  pk::test::add_path(snap, "sda", {8, 0}, "360014051234abcd", "mpatha", 0, 1, PathState::Pending,
                     DmState::Unknown, false, 5, 1);
  std::swap(snap.paths[1], snap.paths[2]);
  json doc = render([&](FixedWriter& w) { return render_topology(snap, scratch, w); });
  const json& groups = doc["maps"][0]["groups"];
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0]["paths"][0]["dev"], "sdb");
  EXPECT_EQ(groups[0]["paths"][1]["dev"], "sdc");
  EXPECT_EQ(groups[2]["group"], 0);
  EXPECT_EQ(groups[2]["state"], "none");
  EXPECT_EQ(groups[2]["paths"][0]["dev"], "sda");

  json one = render([&](FixedWriter& w) { return render_map(snap, snap.maps[0], scratch, w); });
  EXPECT_EQ(one["map"]["groups"], groups) << "show map NAME has the same groups as the topology";
  EXPECT_EQ(one["map"]["name"], "mpatha");
}

TEST_F(SnapshotJson, OnePathAndOneMap) {
  const PathRecord* p = find_path(snap, "sdc");
  ASSERT_NE(p, nullptr);
  json doc = render([&](FixedWriter& w) { return render_path(snap, *p, w); });
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["path"]["dev"], "sdc");
  EXPECT_EQ(doc["path"]["checks"], 901);
  EXPECT_EQ(find_path(snap, "sdz"), nullptr);
  EXPECT_EQ(find_map(snap, "mpathz"), nullptr);
  const MapRecord* m = find_map(snap, "nbd-export1");
  ASSERT_NE(m, nullptr);
  json map = render([&](FixedWriter& w) { return render_map(snap, *m, scratch, w); });
  EXPECT_EQ(map["map"]["name"], "nbd-export1");
  EXPECT_EQ(map["map"]["groups"].size(), 1u);
}

TEST_F(SnapshotJson, StatusHasEveryDaemonStatusField) {
  json doc = render([&](FixedWriter& w) { return render_status(snap, w); });
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["generation"], 42);
  EXPECT_EQ(doc["path_count"], 5);
  EXPECT_EQ(doc["map_count"], 2);
  const json& s = doc["status"];
  EXPECT_EQ(s["pid"], 1234);
  EXPECT_EQ(s["ready"], true);
  EXPECT_EQ(s["uptime_ms"], 93784000);
  EXPECT_EQ(s["memory_locked_bytes"], 50331648);
  EXPECT_EQ(s["heap_bytes"], 70000000);
  EXPECT_EQ(s["heap_bytes_at_ready"], 69999000);
  EXPECT_EQ(s["minor_faults_since_ready"], 3);
  EXPECT_EQ(s["major_faults_since_ready"], 4);
  EXPECT_EQ(s["threads"], 5);
  EXPECT_EQ(s["threads_at_ready"], 5);
  EXPECT_EQ(s["threads_io_flusher"], 6);
  EXPECT_EQ(s["paths"], json({{"used", 5}, {"limit", 4096}}));
  EXPECT_EQ(s["maps"], json({{"used", 2}, {"limit", 1024}}));
  EXPECT_EQ(s["clients"], json({{"used", 1}, {"limit", 16}}));
  EXPECT_EQ(s["log_records"], json({{"used", 7}, {"limit", 8192}}));
  EXPECT_EQ(s["checks_total"], 2751);
  EXPECT_EQ(s["paths_refused"], 8);
  EXPECT_EQ(s["maps_refused"], 9);
  EXPECT_EQ(s["actions_dropped"], 10);
  EXPECT_EQ(s["late_results"], 11);
  EXPECT_EQ(s["requests"], 16);
  EXPECT_EQ(s["error_replies"], 17);
  EXPECT_EQ(s["refused_busy"], 18);
  EXPECT_EQ(s["dm_errors"], 12);
  EXPECT_EQ(s["log_dropped"], 13);
  EXPECT_EQ(s["log_write_errors"], 14);
  EXPECT_EQ(
      s["log_sinks"]["file"],
      json({{"active", true}, {"written", 21}, {"dropped", 2}, {"write_errors", 1}, {"would_block", 3}}));
  EXPECT_EQ(s["log_sinks"]["journal"]["active"], false);
  EXPECT_EQ(s["reconfigures"], 15);
  EXPECT_EQ(s["config_source"], "/etc/pathkeeper/pathkeeper.yaml");
  EXPECT_EQ(s["last_error"], "reload of nbd-export1: Device or resource busy");
  EXPECT_EQ(s["name_files"]["bindings"],
            json({{"file", "/var/lib/pathkeeper/bindings"},
                  {"entries", {{"used", 3}, {"limit", 1027}}},
                  {"pending", true},
                  {"writes", 2},
                  {"write_errors", 5},
                  {"refused", 0},
                  {"error", "rename /var/lib/pathkeeper/bindings: Read-only file system"}}));
  EXPECT_EQ(s["name_files"]["wwids"]["file"], "/etc/multipath/wwids");
  EXPECT_EQ(s["name_files"]["wwids"]["pending"], false);
  EXPECT_EQ(s["name_files"]["wwids"]["error"], "");
  EXPECT_EQ(s["degraded"], true);
  ASSERT_EQ(s["started_without"].size(), 1u);
  EXPECT_EQ(s["started_without"][0]["part"], "log_file");
  EXPECT_EQ(s["started_without"][0]["what"], "the log file");
  EXPECT_EQ(
      s["started_without"][0]["reason"],
      "cannot allocate 16 MiB for the log file /var/log/pathkeeper/pathkeeperd.log: No space left on device");
  EXPECT_EQ(s["started_without"][0]["effect"], startup_rule(StartupStep::LogFile).effect);
  EXPECT_EQ(s["backstop"], json({{"state", "bounded"},
                                 {"seconds", 320},
                                 {"written", true},
                                 {"reason", "every map is bounded"},
                                 {"error", ""}}));
  EXPECT_EQ(s.size(), 34u) << "one member per DaemonStatus field";
}

TEST_F(SnapshotJson, NegativeNumbersStaySigned) {
  snap.paths[0].state_age_ms = -5;
  snap.maps[0].all_down_ms = INT64_MIN;
  json paths = render([&](FixedWriter& w) { return render_paths(snap, w); });
  EXPECT_EQ(paths["paths"][0]["state_age_ms"], -5);
  json maps = render([&](FixedWriter& w) { return render_maps(snap, w); });
  EXPECT_EQ(maps["maps"][0]["all_down_ms"].get<int64_t>(), INT64_MIN);
}

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("plain wwid with spaces"), "\"plain wwid with spaces\"");
  EXPECT_EQ(escaped("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(escaped("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(escaped(std::string_view("\0\x01\x1f\x7f", 4)), "\"\\u0000\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(escaped(""), "\"\"");
}

TEST(JsonString, KeepsValidUtf8AndEscapesInvalidBytes) {
  EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe\"");
  EXPECT_EQ(escaped("\xff"), "\"\\u00ff\"");
  EXPECT_EQ(escaped("\xc3"), "\"\\u00c3\"") << "truncated sequence";
  EXPECT_EQ(escaped("\xc0\xaf"), "\"\\u00c0\\u00af\"") << "overlong encoding";
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"") << "UTF-16 surrogate";
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\"\\u00f4\\u0090\\u0080\\u0080\"") << "above U+10FFFF";
}

TEST(JsonString, EveryByteStringParsesBackAsJson) {
  // All 256 single bytes and a sample of pairs: the output is always valid JSON.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 7) {
      char in[2] = {static_cast<char>(a), static_cast<char>(b)};
      std::string out = escaped(std::string_view(in, 2));
      json j;
      ASSERT_NO_THROW(j = json::parse(out)) << a << " " << b << ": " << out;
      ASSERT_TRUE(j.is_string());
      if (a < 0x80 && b < 0x80) {
        EXPECT_EQ(j.get<std::string>(), std::string(in, 2));
      }
    }
  }
}

TEST_F(SnapshotJson, AShortBufferOverflowsWithoutWritingPastItsEnd) {
  for (size_t size : {0u, 1u, 10u, 100u, 500u, 1000u}) {
    std::vector<char> big(size + 64, '#');
    FixedWriter w(std::span<char>(big.data(), size));
    EXPECT_FALSE(render_topology(snap, scratch, w)) << size;
    EXPECT_TRUE(w.overflowed());
    for (size_t i = size; i < big.size(); ++i) ASSERT_EQ(big[i], '#') << "wrote past the end at " << i;
  }
}

TEST_F(SnapshotJson, TooSmallAScratchIsRefused) {
  FixedWriter w(buf);
  EXPECT_FALSE(render_topology(snap, std::span<uint32_t>(scratch, 2), w));
  EXPECT_FALSE(render_map(snap, snap.maps[0], std::span<uint32_t>(scratch, 2), w));
}

// Records with every string full and every number at its widest.
void fill_widest(Snapshot& s, uint32_t paths, uint32_t maps) {
  s.generation = UINT64_MAX;
  s.path_count = paths;
  s.map_count = maps;
  std::string dev(FixedString<32>::kCapacity, 'd');
  std::string wwid(FixedString<256>::kCapacity, 'w');
  std::string name(FixedString<128>::kCapacity, 'n');
  for (uint32_t i = 0; i < paths; ++i) {
    PathRecord& p = s.paths[i];
    dev.replace(0, 8, std::to_string(10000000 + i));
    p.dev.assign(dev);
    p.devt = {UINT32_MAX, UINT32_MAX};
    p.wwid.assign(wwid);
    name.replace(0, 8, std::to_string(10000000 + i % maps));
    p.map.assign(name);
    p.checker = CheckerKind::DirectIo;
    p.state = PathState::Unchecked;
    p.dm_state = DmState::Unknown;
    p.group = static_cast<uint16_t>(60000 + i);  // one group per path: the most group objects
    p.priority = 255;
    p.admin_failed = false;
    p.state_age_ms = INT64_MIN;
    p.checks = p.failures = p.timeouts = UINT64_MAX;
  }
  for (uint32_t i = 0; i < maps; ++i) {
    MapRecord& m = s.maps[i];
    name.replace(0, 8, std::to_string(10000000 + i));
    m.name.assign(name);
    m.wwid.assign(wwid);
    m.devt = {UINT32_MAX, UINT32_MAX};
    m.sectors = UINT64_MAX / 512;
    m.settings.grouping = Grouping::GroupByPrio;
    m.settings.selector = Selector::ServiceTime;
    m.settings.failback = Failback::Followover;
    m.settings.failback_delay = Seconds(INT64_MAX);
    m.settings.no_path_retry.kind = NoPathRetry::Kind::Checks;
    m.settings.no_path_retry.checks = UINT32_MAX;
    m.settings.pg_init_retries = UINT32_MAX;
    m.in_kernel = true;
    m.queueing = m.all_down = m.retry_exhausted = m.queueing_disabled_by_admin = false;
    m.all_down_ms = INT64_MIN;
    m.paths_total = m.paths_active = m.paths_usable = m.current_group = m.group_count = UINT16_MAX;
    m.path_faults = m.queue_disables = UINT64_MAX;
  }
  DaemonStatus& st = s.status;
  st.pid = INT32_MIN;
  st.uptime_ms = INT64_MIN;
  st.memory_locked_bytes = st.heap_bytes = st.heap_bytes_at_ready = UINT64_MAX;
  st.minor_faults_since_ready = st.major_faults_since_ready = UINT64_MAX;
  st.threads = st.threads_at_ready = st.threads_io_flusher = UINT32_MAX;
  st.paths = st.maps = st.clients = st.log_records = {UINT32_MAX, UINT32_MAX};
  st.checks_total = st.paths_refused = st.maps_refused = st.actions_dropped = st.late_results = UINT64_MAX;
  st.dm_errors = st.log_dropped = st.log_write_errors = st.reconfigures = UINT64_MAX;
  st.requests = st.error_replies = st.refused_busy = UINT64_MAX;
  st.log_file = st.log_journal = st.log_stderr = {true, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
  st.config_source.assign(std::string(FixedString<256>::kCapacity, 'c'));
  st.last_error.assign(std::string(FixedString<256>::kCapacity, 'e'));
  for (NameFileUse* u : {&st.bindings_file, &st.wwids_file}) {
    u->file.assign(std::string(FixedString<256>::kCapacity, 'f'));
    u->error.assign(std::string(FixedString<256>::kCapacity, 'e'));
    u->entries = {UINT32_MAX, UINT32_MAX};
    u->pending = true;
    u->writes = u->write_errors = u->refused = UINT64_MAX;
  }
  // Every part the daemon may start without, each with the longest reason.
  for (const StartupRule& rule : startup_rules())
    st.startup.failed(rule.step, std::string(FixedString<256>::kCapacity, 'r'));
}

TEST(SnapshotJsonBounds, TheWidestRecordsFitTheStatedBounds) {
  Snapshot s;
  s.init(1, 1);
  fill_widest(s, 1, 1);
  std::vector<char> out(1 << 16);
  uint32_t scratch[1];
  auto size_of = [&](auto fn) {
    FixedWriter w(out);
    EXPECT_TRUE(fn(w));
    return w.size();
  };
  size_t path = size_of([&](FixedWriter& w) { return render_paths(s, w); });
  size_t map = size_of([&](FixedWriter& w) { return render_maps(s, w); });
  size_t topo = size_of([&](FixedWriter& w) { return render_topology(s, scratch, w); });
  s.path_count = s.map_count = 0;  // what the envelope alone takes
  path -= size_of([&](FixedWriter& w) { return render_paths(s, w); });
  map -= size_of([&](FixedWriter& w) { return render_maps(s, w); });
  topo -= size_of([&](FixedWriter& w) { return render_topology(s, scratch, w); });
  s.path_count = s.map_count = 1;
  size_t status = size_of([&](FixedWriter& w) { return render_status(s, w); });
  EXPECT_LE(path, kPathJsonMaxBytes);
  EXPECT_LE(map, kMapJsonMaxBytes);
  EXPECT_LE(topo, kMapJsonMaxBytes + kPathJsonMaxBytes) << "a map with one path in one group";
  EXPECT_LE(status, kStatusJsonMaxBytes);
  std::printf("widest: path %zu, map %zu, map+group+path %zu, status %zu bytes\n", path, map, topo, status);
}

TEST(SnapshotJsonBounds, JsonCapacityHoldsEveryDocumentOfAFullSnapshot) {
  constexpr uint32_t kPaths = 512, kMaps = 64;
  Snapshot s;
  s.init(kPaths, kMaps);
  fill_widest(s, kPaths, kMaps);
  std::vector<char> out(json_capacity(kPaths, kMaps));
  std::vector<uint32_t> scratch(kPaths);
  FixedWriter a(out);
  EXPECT_TRUE(render_paths(s, a));
  FixedWriter b(out);
  EXPECT_TRUE(render_maps(s, b));
  FixedWriter c(out);
  EXPECT_TRUE(render_topology(s, scratch, c));
  FixedWriter d(out);
  EXPECT_TRUE(render_status(s, d));
}

TEST_F(SnapshotJson, RenderingAllocatesNothing) {
  FixedWriter warm(buf);
  render_topology(snap, scratch, warm);
  pk::test::heap_guard::arm();
  for (int i = 0; i < 100; ++i) {
    FixedWriter w(buf);
    render_paths(snap, w);
    FixedWriter w2(buf);
    render_maps(snap, w2);
    FixedWriter w3(buf);
    render_topology(snap, scratch, w3);
    FixedWriter w4(buf);
    render_map(snap, snap.maps[0], scratch, w4);
    FixedWriter w5(buf);
    render_path(snap, snap.paths[0], w5);
    FixedWriter w6(buf);
    render_status(snap, w6);
    FixedWriter w7(buf);
    write_json_string(w7, "ATA \"odd\"\x01\xff");
    find_map(snap, "nbd-export1");
    find_path(snap, "sde");
  }
  pk::test::heap_guard::disarm();
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
}

}  // namespace
