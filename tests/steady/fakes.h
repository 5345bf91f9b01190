// Fakes of the kernel for the steady-state suite: device-mapper, the device
// source and a checker, all with fixed storage so that they allocate nothing
// after construction (the guard would count it). A test scripts what the
// "storage" does: a path that answers, fails or hangs; a dm event storm.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "adapters/dm.h"
#include "adapters/udev.h"
#include "checkers/checker.h"
#include "core/dm_table.h"
#include "core/fixed_string.h"

namespace pk::steady {

constexpr uint32_t kMaxFakePaths = 32;
constexpr uint32_t kMaxFakeMaps = 16;

// What a fake path does when checked. An Up path answers as its port's ALUA
// state says: standby or unavailable as a ghost, transitioning as pending.
enum class Behaviour : uint8_t { Up, Down, Hang };

struct FakeStorage;  // shared by the three fakes: the "world" the daemon sees

class FakeDm final : public adapters::Dm {
 public:
  explicit FakeDm(FakeStorage& world) : world_(world) {}
  bool open(size_t buffer_bytes, core::Error& err) override;
  bool message(std::string_view map, std::string_view text, core::Error& err) override;
  bool status(std::string_view map, std::string_view& params, uint32_t& event_nr, core::Error& err) override;
  bool table(std::string_view map, std::string_view& params, uint64_t& sectors, core::Error& err) override;
  bool open_count(std::string_view map, int32_t& count, core::Error& err) override;
  bool list(std::span<adapters::DmMapInfo> out, size_t& count, core::Error& err) override;
  int event_fd() const override;
  bool arm_events(core::Error& err) override;
  bool create(std::string_view name, std::string_view uuid, uint64_t sectors, std::string_view params,
              core::Error& err) override;
  bool reload(std::string_view name, uint64_t sectors, std::string_view params, core::Error& err) override;
  bool remove(std::string_view name, core::Error& err) override;
  bool rename(std::string_view name, std::string_view new_name, core::Error& err) override;

 private:
  FakeStorage& world_;
  char buf_[4096] = {};
};

class FakeDevices final : public adapters::DeviceSource {
 public:
  explicit FakeDevices(FakeStorage& world) : world_(world) {}
  bool open(core::Error& err) override;
  bool enumerate(const BlockFn& fn, core::Error& err) override;
  int monitor_fd() const override;
  size_t receive(const BlockFn& on_block, const TransportFn& on_transport) override;

 private:
  FakeStorage& world_;
};

class FakeChecker final : public checkers::Checker {
 public:
  FakeChecker(FakeStorage& world, core::CheckerKind kind) : world_(world), kind_(kind) {}
  core::CheckerKind kind() const override { return kind_; }
  std::string_view name() const override { return "fake"; }
  bool init(uint32_t capacity, core::Error& err) override;
  int completion_fd() const override;
  bool attach(checkers::PathIndex path, const checkers::PathIdentity& id, core::Error& err) override;
  void detach(checkers::PathIndex path) override;
  checkers::StartResult start(checkers::PathIndex path, core::MonoTime now) override;
  size_t reap(std::span<checkers::Completion> out) override;
  // Down while the storage fails or hangs, up otherwise: transport probes of
  // failed paths run in the suite, and a return is checked at once.
  checkers::TransportState transport_state(checkers::PathIndex path) override;

 private:
  FakeStorage& world_;
  core::CheckerKind kind_;
};

struct FakeMap {
  bool used = false;
  core::FixedString<128> name;
  core::FixedString<160> uuid;
  core::DevT devt;
  uint64_t sectors = 0;
  uint32_t event_nr = 0;
  std::array<core::TableGroup, kMaxFakePaths> groups{};
  std::array<core::DevT, kMaxFakePaths> paths{};
  std::array<bool, kMaxFakePaths> active{};
  std::array<uint32_t, kMaxFakePaths> fail_count{};
  core::MultipathTable table;  // spans into groups/paths
  uint16_t active_group = 1;   // 1-based: the group the kernel sends I/O to
  bool multipath = true;       // a multipath target (else another DM target)
  int32_t holders = 0;         // openers besides its partitions: a mount, LVM (the test sets it)
};

struct FakePath {
  core::FixedString<32> dev;
  core::DevT devt;
  core::FixedString<64> wwid;
  Behaviour behaviour = Behaviour::Up;
  core::AluaState alua = core::AluaState::None;  // None: the LUN reports no ALUA
  uint16_t tpg = 0;
  bool unit_attention = false;  // the array changed ALUA states: the next check meets 2a/06
  bool in_flight = false;
  uint32_t daemon_index = UINT32_MAX;  // the checker's PathIndex once attached
};

struct Counts {
  uint64_t fail_path = 0, reinstate_path = 0, queue_if_no_path = 0, fail_if_no_path = 0, other = 0;
  uint64_t creates = 0, reloads = 0, switch_group = 0, renames = 0;
  uint64_t removes = 0, removed_while_queueing = 0, removes_refused = 0;
  uint64_t checks_started = 0, checks_busy = 0, uevents = 0, transport_probes = 0;
};

// One pending uevent (fixed storage).
struct FakeEvent {
  bool dm = false;  // a PATH_FAILED change of a map, else an event of a disk
  adapters::DeviceAction action = adapters::DeviceAction::Change;  // of a disk
  core::FixedString<128> name;
  core::FixedString<16> dm_path;
};

struct FakeStorage {
  FakeStorage();
  ~FakeStorage();
  void add_path(std::string_view dev, core::DevT devt, std::string_view wwid);
  // The storage behind `dev` changes. Down: the kernel fails the path at once
  // (an I/O error, PATH_FAILED); Hang: nothing is noticed but by the checks.
  void set_behaviour(std::string_view dev, Behaviour b);
  // An I/O through `dev` failed: the kernel fails the path in every map
  // (PATH_FAILED), whatever its checks will say.
  void kernel_fails(std::string_view dev);
  // A uevent storm: `n` change events for disks and PATH_FAILED for maps.
  void storm(uint32_t n);
  bool path_active_in_dm(std::string_view dev) const;
  bool map_queueing(size_t map) const;
  // The array moves the port group behind `dev` to `state`: the fake sysfs
  // access_state follows (when sysfs_root is set) and every path of the LUN
  // meets a unit attention 2a/06 at its next check. No allocation.
  void set_alua(std::string_view dev, core::AluaState state);
  // A disk appears or goes away (an add or remove uevent).
  void hotplug(std::string_view dev, adapters::DeviceAction action);
  // An admin's `dmsetup remove` (or another tool's): the map is gone.
  void remove_map_behind_the_back(std::string_view name);
  // kpartx: a partition map over `map` (DM UUID part<N>-<the map's UUID>),
  // which opens the map once.
  void add_partition(std::string_view map, uint32_t number);
  // The open count the kernel reports: holders plus one per partition.
  int32_t open_count(const FakeMap& m) const;
  // The LUN behind every path of `wwid` now has `sectors`: what sysfs says
  // after a rescan (written to the fake tree when sysfs_root is set).
  void set_size(std::string_view dev, uint64_t sectors);
  FakeMap* map(std::string_view name);
  FakePath* path(std::string_view dev);

  std::array<FakePath, kMaxFakePaths> paths{};
  uint32_t path_count = 0;
  std::array<FakeMap, kMaxFakeMaps> maps{};
  std::array<bool, kMaxFakeMaps> queueing{};
  std::array<FakeEvent, 256> events{};
  uint32_t event_head = 0, event_tail = 0;
  std::array<checkers::Completion, 256> completions{};
  uint32_t completion_head = 0, completion_tail = 0;
  int dm_event_fd = -1, uevent_fd = -1, completion_fd = -1;
  bool dm_missing = false;                   // opening device-mapper fails, as without the dm_mod module
  core::FixedString<200> sysfs_root;         // a fake sysfs tree the test made, "" for none
  std::array<bool, kMaxFakePaths> hidden{};  // removed from the host: not enumerated
  Counts counts;
};

}  // namespace pk::steady
