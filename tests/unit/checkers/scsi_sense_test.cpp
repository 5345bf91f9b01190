// Decoding of TEST UNIT READY answers with sense data as devices send it.
#include "checkers/scsi_sense.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace pk::checkers::scsi {
namespace {

using Bytes = std::vector<uint8_t>;

// Fixed format (0x70), 18 bytes, additional length 10: key in byte 2, ASC/ASCQ in 12/13.
Bytes fixed(uint8_t key, uint8_t asc, uint8_t ascq, uint8_t code = 0x70) {
  return {code, 0x00, key,  0x00, 0x00, 0x00, 0x00, 0x0a, 0x00,
          0x00, 0x00, 0x00, asc,  ascq, 0x00, 0x00, 0x00, 0x00};
}

// Descriptor format (0x72), no descriptors: key in byte 1, ASC/ASCQ in 2/3.
Bytes descriptor(uint8_t key, uint8_t asc, uint8_t ascq, uint8_t code = 0x72) {
  return {code, key, asc, ascq, 0x00, 0x00, 0x00, 0x00};
}

Decision check_condition(const Bytes& sense) {
  Result r;
  r.status = kStatusCheckCondition;
  r.driver_status = kDriverSense;
  r.sense = sense;
  return decode_tur(r);
}

TEST(ParseSense, FixedFormat) {
  Bytes b = fixed(0x06, 0x29, 0x00);
  Sense s = parse_sense(b);
  EXPECT_TRUE(s.valid);
  EXPECT_FALSE(s.descriptor);
  EXPECT_FALSE(s.deferred);
  EXPECT_EQ(s.key, 0x06);
  EXPECT_EQ(s.asc, 0x29);
  EXPECT_EQ(s.ascq, 0x00);
}

TEST(ParseSense, FixedWithValidBitAndFilemarkBits) {
  // 0xf0: VALID bit set on response code 0x70; byte 2 carries ILI/EOM/FILEMARK above the key.
  Bytes b = fixed(0xe2, 0x04, 0x0b, 0xf0);
  Sense s = parse_sense(b);
  EXPECT_TRUE(s.valid);
  EXPECT_EQ(s.key, 0x02);
  EXPECT_EQ(s.asc, 0x04);
  EXPECT_EQ(s.ascq, 0x0b);
}

TEST(ParseSense, DescriptorFormat) {
  // ILLEGAL REQUEST, invalid field in CDB, with a sense-key-specific descriptor.
  Bytes b = {0x72, 0x05, 0x24, 0x00, 0x00, 0x00, 0x00, 0x08, 0x02, 0x06, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x00};
  Sense s = parse_sense(b);
  EXPECT_TRUE(s.valid);
  EXPECT_TRUE(s.descriptor);
  EXPECT_EQ(s.key, 0x05);
  EXPECT_EQ(s.asc, 0x24);
  EXPECT_EQ(s.ascq, 0x00);
}

TEST(ParseSense, DeferredErrors) {
  EXPECT_TRUE(parse_sense(fixed(0x03, 0x11, 0x00, 0x71)).deferred);
  EXPECT_TRUE(parse_sense(descriptor(0x03, 0x11, 0x00, 0x73)).deferred);
}

TEST(ParseSense, ShortFixedHasKeyButNoAsc) {
  Bytes b = {0x70, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00};
  Sense s = parse_sense(b);
  EXPECT_TRUE(s.valid);
  EXPECT_EQ(s.key, 0x06);
  EXPECT_EQ(s.asc, 0x00);
}

TEST(ParseSense, RejectsGarbage) {
  EXPECT_FALSE(parse_sense(Bytes{}).valid);
  EXPECT_FALSE(parse_sense(Bytes{0x00, 0x00, 0x00, 0x00}).valid);
  EXPECT_FALSE(parse_sense(Bytes{0x7f, 0x06, 0x29, 0x00}).valid);  // vendor specific
  EXPECT_FALSE(parse_sense(Bytes{0x70, 0x00}).valid);              // too short for the key
  EXPECT_FALSE(parse_sense(Bytes{0x72}).valid);
}

TEST(DecodeTur, GoodIsUp) {
  Decision d = decode_tur(Result{});
  EXPECT_EQ(d.verdict, Verdict::Up);
  EXPECT_FALSE(d.retry);
}

TEST(DecodeTur, ReservationConflictIsUp) {
  Result r;
  r.status = kStatusReservationConflict;
  Decision d = decode_tur(r);
  EXPECT_EQ(d.verdict, Verdict::Up);
  EXPECT_FALSE(d.retry);
}

TEST(DecodeTur, UnitAttentionIsRetried) {
  // Power on, reset or bus device reset occurred (29/00), fixed format.
  Decision d = check_condition(fixed(0x06, 0x29, 0x00));
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.verdict, Verdict::Down);  // if it never stops
  // Asymmetric access state changed (2a/06), descriptor format.
  d = check_condition(descriptor(0x06, 0x2a, 0x06));
  EXPECT_TRUE(d.retry);
  EXPECT_TRUE(d.alua_changed);
  EXPECT_FALSE(check_condition(fixed(0x06, 0x29, 0x00)).alua_changed) << "a reset is no ALUA change";
}

TEST(DecodeTur, AluaStandbyIsGhost) {
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x0b)).verdict, Verdict::Ghost);
  EXPECT_EQ(check_condition(descriptor(0x02, 0x04, 0x0b)).verdict, Verdict::Ghost);
  EXPECT_FALSE(check_condition(fixed(0x02, 0x04, 0x0b)).retry);
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x0b)).alua, pk::core::AluaState::Standby);
}

TEST(DecodeTur, AluaUnavailableIsGhost) {
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x0c)).verdict, Verdict::Ghost);
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x0c)).alua, pk::core::AluaState::Unavailable);
}

TEST(DecodeTur, AluaTransitioningIsPending) {
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x0a)).verdict, Verdict::Pending);
  EXPECT_EQ(check_condition(descriptor(0x02, 0x04, 0x0a)).verdict, Verdict::Pending);
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x01)).verdict, Verdict::Pending);  // becoming ready
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x0a)).alua, pk::core::AluaState::Transitioning);
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x01)).alua, pk::core::AluaState::Unknown);
  EXPECT_EQ(check_condition(fixed(0x00, 0x00, 0x00)).alua, pk::core::AluaState::Unknown);
}

TEST(DecodeTur, OtherNotReadyIsDown) {
  EXPECT_EQ(check_condition(fixed(0x02, 0x04, 0x02)).verdict, Verdict::Down);  // initializing cmd required
  EXPECT_EQ(check_condition(fixed(0x02, 0x3a, 0x00)).verdict, Verdict::Down);  // medium not present
}

TEST(DecodeTur, LunNotSupportedIsDownAndSaysTheLunIsGone) {
  Decision d = check_condition(fixed(0x05, 0x25, 0x00));
  EXPECT_EQ(d.verdict, Verdict::Down);
  EXPECT_FALSE(d.retry);
  EXPECT_TRUE(d.lun_gone);
  EXPECT_STREQ(d.reason, "illegal request: logical unit not supported");
}

TEST(DecodeTur, OnlyLunNotSupportedSaysTheLunIsGone) {
  EXPECT_FALSE(check_condition(fixed(0x05, 0x24, 0x00)).lun_gone);  // invalid field in CDB
  EXPECT_FALSE(check_condition(fixed(0x05, 0x25, 0x01)).lun_gone);
  EXPECT_FALSE(check_condition(fixed(0x02, 0x04, 0x03)).lun_gone);  // not ready, manual intervention
  EXPECT_FALSE(check_condition(fixed(0x04, 0x00, 0x00)).lun_gone);  // hardware error
}

TEST(DecodeTur, NoSenseAndRecoveredAreUp) {
  EXPECT_EQ(check_condition(fixed(0x00, 0x00, 0x00)).verdict, Verdict::Up);
  EXPECT_EQ(check_condition(fixed(0x01, 0x5d, 0x00)).verdict, Verdict::Up);
}

TEST(DecodeTur, HardwareAndMediumErrorsAreDown) {
  EXPECT_EQ(check_condition(fixed(0x04, 0x44, 0x00)).verdict, Verdict::Down);
  EXPECT_EQ(check_condition(descriptor(0x03, 0x11, 0x00)).verdict, Verdict::Down);
}

TEST(DecodeTur, DeferredAndAbortedAreRetried) {
  EXPECT_TRUE(check_condition(fixed(0x03, 0x11, 0x00, 0x71)).retry);
  EXPECT_TRUE(check_condition(fixed(0x0b, 0x47, 0x00)).retry);  // aborted: SCSI parity error
}

TEST(DecodeTur, CheckConditionWithoutSenseIsDown) {
  EXPECT_EQ(check_condition(Bytes{}).verdict, Verdict::Down);
}

TEST(DecodeTur, BusyIsRetriedThenPending) {
  Result r;
  r.status = kStatusBusy;
  Decision d = decode_tur(r);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.verdict, Verdict::Pending);
  r.status = kStatusTaskSetFull;
  EXPECT_TRUE(decode_tur(r).retry);
}

TEST(DecodeTur, TransportAndHostErrorsAreDown) {
  for (uint16_t host : {kDidNoConnect, kDidTimeOut, kDidBadTarget, kDidAbort, kDidTransportDisrupted,
                        kDidTransportFailfast, kDidTransportMarginal, kDidNexusFailure, kDidError}) {
    Result r;
    r.host_status = host;
    Decision d = decode_tur(r);
    EXPECT_EQ(d.verdict, Verdict::Down) << "host 0x" << std::hex << host;
    EXPECT_FALSE(d.retry) << "host 0x" << std::hex << host;
  }
}

TEST(DecodeTur, HostErrorWinsOverGoodStatusAndSense) {
  Bytes sense = fixed(0x06, 0x29, 0x00);
  Result r;
  r.status = kStatusCheckCondition;
  r.host_status = kDidNoConnect;
  r.sense = sense;
  EXPECT_EQ(decode_tur(r).verdict, Verdict::Down);
  EXPECT_FALSE(decode_tur(r).retry);
}

TEST(DecodeTur, TransientHostCodesAreRetried) {
  for (uint16_t host : {kDidBusBusy, kDidReset, kDidSoftError, kDidImmRetry, kDidRequeue}) {
    Result r;
    r.host_status = host;
    Decision d = decode_tur(r);
    EXPECT_TRUE(d.retry) << "host 0x" << std::hex << host;
    EXPECT_EQ(d.verdict, Verdict::Down);
  }
}

TEST(DecodeTur, DriverTimeoutIsDown) {
  Result r;
  r.driver_status = kDriverTimeout;
  EXPECT_EQ(decode_tur(r).verdict, Verdict::Down);
  r.driver_status = 0x20 | kDriverTimeout;  // old kernels: suggestion in the high nibble
  EXPECT_EQ(decode_tur(r).verdict, Verdict::Down);
}

TEST(DecodeTur, DriverSenseWithGoodStatusIsUp) {
  Result r;
  r.driver_status = kDriverSense;
  EXPECT_EQ(decode_tur(r).verdict, Verdict::Up);
}

TEST(DecodeTur, UnknownStatusIsDown) {
  Result r;
  r.status = kStatusAcaActive;
  EXPECT_EQ(decode_tur(r).verdict, Verdict::Down);
  r.status = 0x7e;
  EXPECT_EQ(decode_tur(r).verdict, Verdict::Down);
}

}  // namespace
// Sense data that cannot be decoded fails the check, and says so, but never
// names an ALUA state: the daemon counts it and keeps the last known state.
TEST(DecodeTur, GarbledSenseIsDownAndNamesNoState) {
  for (const Bytes& garbage : {Bytes{}, Bytes{0x00, 0x00, 0x00}, Bytes{0x7f, 0x01, 0x02, 0x0b}}) {
    Decision d = check_condition(garbage);
    EXPECT_EQ(d.verdict, Verdict::Down);
    EXPECT_TRUE(d.garbled_sense);
    EXPECT_EQ(d.alua, pk::core::AluaState::Unknown);
  }
  EXPECT_FALSE(check_condition(fixed(0x02, 0x04, 0x0b)).garbled_sense);
}

}  // namespace pk::checkers::scsi
