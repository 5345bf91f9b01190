// Fuzz entry point for what pathkeeper reads of a path's ALUA state: the
// array's answer to a check (TEST UNIT READY's status and sense data,
// checkers/scsi_sense.h), the kernel's alua handler's sysfs files
// (access_state text, core::parse_alua_state) and the device identification
// page VPD 0x83 (the target port group, core::tpg_from_vpd83), then the
// planner's rule that combines them (core::alua_after_check,
// core::alua_from_sysfs). pathkeeper sends no REPORT TARGET PORT GROUPS of its
// own: the kernel's handler does, and its answer reaches the daemon as the
// sysfs text.
//
// The input: byte 0 the path's ALUA state before the check (low nibble the
// state, high nibble the settled state when the state is Transitioning or
// Unknown, each modulo the states; as the daemon keeps them), byte 1 flags (1: preferred
// before, 2: group id known before, 4: sysfs says preferred), byte 2 the
// length N of the check's answer, then N bytes of answer as fuzz_scsi_sense
// reads them (status, host and driver status little-endian, sense data),
// then the access_state text up to a NUL, then the VPD page.
//
// Besides "does not crash or read past its input", it checks:
//   - a parsed access_state is a state with a sysfs name that parses back to
//     it, and the text was that name (trailing newlines and spaces aside);
//   - the page's port group is read only from bytes within the page's own
//     length, from a type 5 designator associated with the target port, and
//     the caller's id is left alone when there is none;
//   - the combined state: a path without ALUA stays so; what the answer
//     names wins; an unreadable sysfs keeps what was known; the settled state
//     is never Transitioning or Unknown once it was not; the group id is
//     untouched; reading the same sysfs twice changes nothing the second time.
// Built as a libFuzzer target with -Dfuzz=true (clang) and, in every build,
// into fuzz_alua_driver (driver_main.cpp). See README.md.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "checkers/scsi_sense.h"
#include "core/model.h"
#include "core/topology.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace pk;
using core::Alua;
using core::AluaState;
using pk::fuzz::check;

constexpr AluaState kStates[] = {
    AluaState::None,         AluaState::Unknown,       AluaState::Optimized,
    AluaState::NonOptimized, AluaState::LbaDependent,  AluaState::Standby,
    AluaState::Unavailable,  AluaState::Transitioning, AluaState::Offline,
};
constexpr size_t kStateCount = sizeof kStates / sizeof kStates[0];

bool settled_state(AluaState s) { return s != AluaState::Transitioning && s != AluaState::Unknown; }

// The access_state text: what parses is a named state, and only its name.
AluaState sysfs_state(std::string_view text) {
  AluaState s = AluaState::Unknown;
  if (!core::parse_alua_state(text, s)) {
    check(s == AluaState::Unknown);  // untouched
    return AluaState::Unknown;
  }
  check(s != AluaState::None);
  std::string_view name = core::alua_state_name(s);
  check(name != "?");
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  check(text == name);
  AluaState again = AluaState::None;
  check(core::parse_alua_state(name, again) && again == s);
  return s;
}

// VPD page 0x83: a port group read from a designator of the page.
void vpd83(std::span<const uint8_t> page) {
  constexpr uint16_t kUntouched = 0xbeef;
  uint16_t tpg = kUntouched;
  const bool found = core::tpg_from_vpd83(page, tpg);
  if (!found) {
    check(tpg == kUntouched);
  } else {
    check(page.size() >= 4 && page[1] == 0x83);
    // Some designator header at `at` within the page's length says type 5,
    // target port, at least 4 bytes, and holds the id at at+6.
    const size_t end = std::min(page.size(), 4 + ((size_t{page[2]} << 8) | page[3]));
    bool there = false;
    for (size_t at = 4; at + 8 <= end && !there; ++at)
      there = (page[at + 1] & 0x0f) == 0x5 && ((page[at + 1] >> 4) & 0x3) == 0x1 && page[at + 3] >= 4 &&
              at + 4 + page[at + 3] <= end && tpg == ((page[at + 6] << 8) | page[at + 7]);
    check(there);
  }
  // Bytes past the page's own length are not the page's.
  if (page.size() >= 4) {
    const size_t length = 4 + ((size_t{page[2]} << 8) | page[3]);
    if (length < page.size()) {
      uint16_t cut = kUntouched;
      check(core::tpg_from_vpd83(page.first(length), cut) == found);
      if (found) check(cut == tpg);
    }
  }
}

void combine(const Alua& before, core::CheckVerdict verdict, core::AluaReport said, AluaState sysfs,
             bool sysfs_preferred) {
  const Alua after = core::alua_after_check(before, verdict, said, sysfs, sysfs_preferred);
  const Alua seen = core::alua_from_sysfs(before, sysfs, sysfs_preferred);
  if (before.state == AluaState::None) {
    check(after == before && seen == before);
    return;
  }
  for (const Alua& a : {after, seen}) {
    check(a.state != AluaState::None);
    check(a.group_id == before.group_id && a.group_id_known == before.group_id_known);
    if (settled_state(before.settled)) check(settled_state(a.settled));
    if (settled_state(a.state)) check(a.settled == a.state);
  }
  if (said.said == AluaState::Standby || said.said == AluaState::Unavailable ||
      said.said == AluaState::Transitioning)
    check(after.state == said.said);
  if (sysfs == AluaState::Unknown) check(seen == before);
  check(core::alua_from_sysfs(seen, sysfs, sysfs_preferred) == seen);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (in.size() < 3) return 0;
  Alua before;
  before.state = kStates[(in[0] & 0x0f) % kStateCount];
  // As the daemon keeps it: a settled state is its own settled state; a
  // transition or an unread state has a settled one (Unknown when none yet).
  before.settled = before.state;
  if (!settled_state(before.state)) {
    before.settled = kStates[(in[0] >> 4) % kStateCount];
    if (before.settled == AluaState::None || before.settled == AluaState::Transitioning)
      before.settled = AluaState::Unknown;
  }
  before.preferred = (in[1] & 1) != 0;
  before.group_id_known = (in[1] & 2) != 0;
  before.group_id = before.group_id_known ? 7 : 0;
  const bool sysfs_preferred = (in[1] & 4) != 0;
  const size_t answer_len = std::min<size_t>(in[2], in.size() - 3);
  std::span<const uint8_t> answer = in.subspan(3, answer_len);
  std::span<const uint8_t> rest = in.subspan(3 + answer_len);

  // The check's answer, as the TUR checker decodes it.
  checkers::scsi::Result r;
  if (answer.size() >= 5) {
    r.status = answer[0];
    r.host_status = static_cast<uint16_t>(answer[1] | answer[2] << 8);
    r.driver_status = static_cast<uint16_t>(answer[3] | answer[4] << 8);
    r.sense = answer.subspan(5);
  }
  const checkers::scsi::Decision d = checkers::scsi::decode_tur(r);
  check(d.alua == AluaState::Unknown || d.alua == AluaState::Standby || d.alua == AluaState::Unavailable ||
        d.alua == AluaState::Transitioning);
  if (d.garbled_sense) check(d.alua == AluaState::Unknown && d.verdict == core::CheckVerdict::Down);

  // The sysfs text up to a NUL, then the VPD page.
  size_t nul = 0;
  while (nul < rest.size() && rest[nul] != 0) ++nul;
  const AluaState sysfs = sysfs_state(pk::fuzz::text(rest.data(), nul));
  vpd83(rest.subspan(nul < rest.size() ? nul + 1 : nul));

  combine(before, d.verdict, core::AluaReport{d.alua, d.alua_changed, d.garbled_sense}, sysfs,
          sysfs_preferred);
  return 0;
}
