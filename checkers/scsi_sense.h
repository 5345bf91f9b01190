// Decoding a finished SCSI command (TEST UNIT READY) into a path verdict:
// the SAM status byte, the host (transport) and driver bytes the sg driver
// reports, and the sense data in fixed (0x70/0x71) or descriptor (0x72/0x73)
// format. Pure functions: no system headers, tested with real sense bytes.
//
// Threads: any. Blocking: never. Allocation: never.
#pragma once

#include <cstdint>
#include <span>

#include "checkers/checker.h"

namespace pk::checkers::scsi {

// SAM-5 status byte (sg_io_hdr.status).
inline constexpr uint8_t kStatusGood = 0x00;
inline constexpr uint8_t kStatusCheckCondition = 0x02;
inline constexpr uint8_t kStatusConditionMet = 0x04;
inline constexpr uint8_t kStatusBusy = 0x08;
inline constexpr uint8_t kStatusIntermediate = 0x10;
inline constexpr uint8_t kStatusIntermediateConditionMet = 0x14;
inline constexpr uint8_t kStatusReservationConflict = 0x18;
inline constexpr uint8_t kStatusCommandTerminated = 0x22;
inline constexpr uint8_t kStatusTaskSetFull = 0x28;
inline constexpr uint8_t kStatusAcaActive = 0x30;
inline constexpr uint8_t kStatusTaskAborted = 0x40;

// Host byte (sg_io_hdr.host_status), linux include/scsi/scsi_status.h DID_*.
inline constexpr uint16_t kDidOk = 0x00;
inline constexpr uint16_t kDidNoConnect = 0x01;
inline constexpr uint16_t kDidBusBusy = 0x02;
inline constexpr uint16_t kDidTimeOut = 0x03;
inline constexpr uint16_t kDidBadTarget = 0x04;
inline constexpr uint16_t kDidAbort = 0x05;
inline constexpr uint16_t kDidParity = 0x06;
inline constexpr uint16_t kDidError = 0x07;
inline constexpr uint16_t kDidReset = 0x08;
inline constexpr uint16_t kDidBadIntr = 0x09;
inline constexpr uint16_t kDidPassthrough = 0x0a;
inline constexpr uint16_t kDidSoftError = 0x0b;
inline constexpr uint16_t kDidImmRetry = 0x0c;
inline constexpr uint16_t kDidRequeue = 0x0d;
inline constexpr uint16_t kDidTransportDisrupted = 0x0e;
inline constexpr uint16_t kDidTransportFailfast = 0x0f;
inline constexpr uint16_t kDidTargetFailure = 0x10;
inline constexpr uint16_t kDidNexusFailure = 0x11;
inline constexpr uint16_t kDidAllocFailure = 0x12;
inline constexpr uint16_t kDidMediumError = 0x13;
inline constexpr uint16_t kDidTransportMarginal = 0x14;

// Driver byte (sg_io_hdr.driver_status), low nibble; the high nibble held
// "suggestions" in old kernels and is ignored.
inline constexpr uint16_t kDriverOk = 0x00;
inline constexpr uint16_t kDriverBusy = 0x01;
inline constexpr uint16_t kDriverSoft = 0x02;
inline constexpr uint16_t kDriverMedia = 0x03;
inline constexpr uint16_t kDriverError = 0x04;
inline constexpr uint16_t kDriverInvalid = 0x05;
inline constexpr uint16_t kDriverTimeout = 0x06;
inline constexpr uint16_t kDriverHard = 0x07;
inline constexpr uint16_t kDriverSense = 0x08;

// Sense keys (SPC-4 4.5.6).
inline constexpr uint8_t kKeyNoSense = 0x0;
inline constexpr uint8_t kKeyRecoveredError = 0x1;
inline constexpr uint8_t kKeyNotReady = 0x2;
inline constexpr uint8_t kKeyMediumError = 0x3;
inline constexpr uint8_t kKeyHardwareError = 0x4;
inline constexpr uint8_t kKeyIllegalRequest = 0x5;
inline constexpr uint8_t kKeyUnitAttention = 0x6;
inline constexpr uint8_t kKeyDataProtect = 0x7;
inline constexpr uint8_t kKeyAbortedCommand = 0xb;

// The buffer the kernel fills at most (SCSI_SENSE_BUFFERSIZE).
inline constexpr size_t kSenseBufferSize = 96;

struct Sense {
  bool valid = false;     // a known response code with a sense key
  bool deferred = false;  // 0x71/0x73: about an earlier command, not this one
  bool descriptor = false;
  uint8_t key = 0;
  uint8_t asc = 0;
  uint8_t ascq = 0;
};

// Parses fixed (0x70, 0x71) and descriptor (0x72, 0x73) sense data. Short
// fixed data without bytes 12-13 gives asc/ascq 0.
Sense parse_sense(std::span<const uint8_t> bytes);

// A finished command as the sg driver reports it.
struct Result {
  uint8_t status = kStatusGood;  // sg_io_hdr.status (full SAM status byte)
  uint16_t host_status = kDidOk;
  uint16_t driver_status = kDriverOk;
  std::span<const uint8_t> sense;  // sbp[0 .. sb_len_wr)
};

struct Decision {
  // The verdict to report; when `retry` is set, the verdict to report only
  // once no retries remain.
  Verdict verdict = Verdict::Down;
  // A transient condition (unit attention, busy, a requeued command): the
  // caller issues the command again while its retry budget lasts.
  bool retry = false;
  const char* reason = "";  // static text, for logs
  // The port's ALUA state when the answer names it (NOT READY 04/0b, 04/0c,
  // 04/0a); Unknown otherwise.
  core::AluaState alua = core::AluaState::Unknown;
  // UNIT ATTENTION 2a/06: the array changed an asymmetric access state.
  bool alua_changed = false;
  // CHECK CONDITION with sense data that cannot be decoded: the path is
  // down for this check, and nothing about its ALUA state is learnt.
  bool garbled_sense = false;
  // ILLEGAL REQUEST 25/00: the target no longer has this LUN (deleted or
  // unmapped on the array), as opposed to a path that cannot reach it.
  bool lun_gone = false;
};

// TEST UNIT READY:
//   good (or condition met)                      -> Up
//   reservation conflict (reserved by another)   -> Up: the LUN answered over this path
//   unit attention (2a/06 also sets alua_changed), deferred error, aborted command, busy, task set full,
//   task aborted, transient host codes (bus busy, reset, soft error,
//   immediate retry, requeue)                    -> retry
//   NOT READY 04/0b (ALUA standby), 04/0c (ALUA unavailable) -> Ghost
//   NOT READY 04/0a (ALUA transitioning), 04/01 (becoming ready) -> Pending
//   no sense, recovered error                    -> Up
//   transport and host errors (no connect, bad target, timeout, abort,
//   transport disrupted/failfast/marginal, ...) and a driver timeout -> Down
//   ILLEGAL REQUEST 25/00 (LUN not supported)   -> Down, lun_gone
//   anything else                                -> Down
Decision decode_tur(const Result& result);

}  // namespace pk::checkers::scsi
