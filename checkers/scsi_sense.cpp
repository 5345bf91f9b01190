#include "checkers/scsi_sense.h"

namespace pk::checkers::scsi {

Sense parse_sense(std::span<const uint8_t> b) {
  Sense s;
  if (b.empty()) return s;
  uint8_t code = b[0] & 0x7f;
  switch (code) {
    case 0x70:
    case 0x71:
      // Fixed: key in byte 2, additional length in 7, ASC/ASCQ in 12/13.
      if (b.size() < 3) return s;
      s.key = b[2] & 0x0f;
      if (b.size() > 12) s.asc = b[12];
      if (b.size() > 13) s.ascq = b[13];
      s.deferred = code == 0x71;
      s.valid = true;
      return s;
    case 0x72:
    case 0x73:
      // Descriptor: key in byte 1, ASC/ASCQ in 2/3.
      if (b.size() < 2) return s;
      s.key = b[1] & 0x0f;
      if (b.size() > 2) s.asc = b[2];
      if (b.size() > 3) s.ascq = b[3];
      s.deferred = code == 0x73;
      s.descriptor = true;
      s.valid = true;
      return s;
    default:
      return s;  // vendor specific (0x7f) or not sense data at all
  }
}

namespace {

Decision up(const char* why) { return {Verdict::Up, false, why}; }
Decision down(const char* why) { return {Verdict::Down, false, why}; }
Decision retry(Verdict last, const char* why) { return {last, true, why}; }

Decision decode_host(uint16_t host) {
  switch (host) {
    case kDidBusBusy:
      return retry(Verdict::Down, "host: bus busy");
    case kDidReset:
      return retry(Verdict::Down, "host: command aborted by a reset");
    case kDidSoftError:
      return retry(Verdict::Down, "host: soft error");
    case kDidImmRetry:
      return retry(Verdict::Down, "host: retry requested");
    case kDidRequeue:
      return retry(Verdict::Down, "host: requeue requested");
    case kDidNoConnect:
      return down("host: no connection to the target");
    case kDidTimeOut:
      return down("host: command timed out");
    case kDidBadTarget:
      return down("host: bad target");
    case kDidAbort:
      return down("host: command aborted");
    case kDidTransportDisrupted:
      return down("host: transport disrupted");
    case kDidTransportFailfast:
      return down("host: transport failfast");
    case kDidTransportMarginal:
      return down("host: transport marginal");
    case kDidNexusFailure:
      return down("host: nexus failure");
    default:
      return down("host: error");
  }
}

Decision decode_sense(const Sense& s) {
  if (!s.valid) {
    Decision d = down("check condition without valid sense data");
    d.garbled_sense = true;
    return d;
  }
  if (s.deferred) return retry(Verdict::Down, "deferred error of an earlier command");
  switch (s.key) {
    case kKeyNoSense:
      return up("no sense");
    case kKeyRecoveredError:
      return up("recovered error");
    case kKeyUnitAttention:
      if (s.asc == 0x2a && s.ascq == 0x06) {
        Decision d = retry(Verdict::Down, "unit attention: asymmetric access state changed");
        d.alua_changed = true;
        return d;
      }
      return retry(Verdict::Down, "unit attention");
    case kKeyAbortedCommand:
      return retry(Verdict::Down, "aborted command");
    case kKeyNotReady:
      if (s.asc == 0x04) {
        switch (s.ascq) {
          case 0x0b:
            return {Verdict::Ghost, false, "not ready: target port in standby state",
                    core::AluaState::Standby};
          case 0x0c:
            return {Verdict::Ghost, false, "not ready: target port in unavailable state",
                    core::AluaState::Unavailable};
          case 0x0a:
            return {Verdict::Pending, false, "not ready: asymmetric access state transition",
                    core::AluaState::Transitioning};
          case 0x01:
            return {Verdict::Pending, false, "not ready: becoming ready"};
          default:
            break;
        }
      }
      return down("not ready");
    case kKeyIllegalRequest:
      if (s.asc == 0x25 && s.ascq == 0x00) {
        Decision gone = down("illegal request: logical unit not supported");
        gone.lun_gone = true;
        return gone;
      }
      return down("illegal request");
    case kKeyMediumError:
      return down("medium error");
    case kKeyHardwareError:
      return down("hardware error");
    case kKeyDataProtect:
      return down("data protect");
    default:
      return down("sense key reports an error");
  }
}

}  // namespace

Decision decode_tur(const Result& r) {
  if (r.host_status != kDidOk) return decode_host(r.host_status);
  uint16_t driver = r.driver_status & 0x0f;
  if (driver == kDriverTimeout) return down("driver: command timed out");
  if (driver != kDriverOk && driver != kDriverSense) return down("driver: error");
  switch (r.status & 0xfe) {  // bit 0 is reserved/vendor in old devices
    case kStatusGood:
    case kStatusConditionMet:
    case kStatusIntermediate:
    case kStatusIntermediateConditionMet:
      return up("good");
    case kStatusReservationConflict:
      return up("reservation conflict: reachable, reserved by another initiator");
    case kStatusBusy:
      return retry(Verdict::Pending, "busy");
    case kStatusTaskSetFull:
      return retry(Verdict::Pending, "task set full");
    case kStatusTaskAborted:
      return retry(Verdict::Down, "task aborted");
    case kStatusCheckCondition:
    case kStatusCommandTerminated:
      return decode_sense(parse_sense(r.sense));
    case kStatusAcaActive:
      return down("ACA active");
    default:
      return down("unexpected status");
  }
}

}  // namespace pk::checkers::scsi
