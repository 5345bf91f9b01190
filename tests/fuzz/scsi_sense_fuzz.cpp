// Fuzz entry point for SCSI sense decoding (checkers/scsi_sense.h): what a
// storage array sends back for TEST UNIT READY. The first five bytes are the
// SAM status, host and driver status (little-endian); the rest is the sense
// data. Besides "does not crash or read past the sense bytes", it checks that
// every answer has a verdict and a reason.
#include <cstdint>
#include <span>

#include "checkers/scsi_sense.h"
#include "tests/fuzz/fuzz_check.h"

using pk::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pk::checkers;
  std::span<const uint8_t> in(data, size);
  scsi::Sense s = scsi::parse_sense(in);
  if (s.valid) check(s.key <= 0xf);
  if (size < 5) return 0;
  scsi::Result r;
  r.status = in[0];
  r.host_status = static_cast<uint16_t>(in[1] | in[2] << 8);
  r.driver_status = static_cast<uint16_t>(in[3] | in[4] << 8);
  r.sense = in.subspan(5);
  scsi::Decision d = scsi::decode_tur(r);
  check(d.reason != nullptr);
  check(d.verdict == Verdict::Up || d.verdict == Verdict::Ghost || d.verdict == Verdict::Pending ||
        d.verdict == Verdict::Down);
  return 0;
}
