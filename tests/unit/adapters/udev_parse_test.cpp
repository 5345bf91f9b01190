#include "adapters/udev_parse.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

using namespace pk::adapters::udevparse;
using pk::core::Transport;
using pk::core::transport_name;

namespace {

std::string wwid(std::string_view raw) {
  std::array<char, kWwidMax> buf;
  return std::string(normalise_wwid(raw, buf));
}

}  // namespace

TEST(UdevParse, KeepsNaaAndEuiWwidsAsTheKernelWritesThem) {
  EXPECT_EQ(wwid("naa.6000c2931a1b2c3d4e5f60718293a4b5\n"), "naa.6000c2931a1b2c3d4e5f60718293a4b5");
  EXPECT_EQ(wwid("naa.33333330000007d0"), "naa.33333330000007d0");
  EXPECT_EQ(wwid("eui.0025388b91b12345"), "eui.0025388b91b12345");
  // Case is kept: identities are compared as they are.
  EXPECT_EQ(wwid("naa.600A0B80"), "naa.600A0B80");
  // NVMe namespaces (/sys/block/nvme0n1/wwid).
  EXPECT_EQ(wwid("nvme.1b36-31323334-51454d55204e564d65204374726c-00000001\n"),
            "nvme.1b36-31323334-51454d55204e564d65204374726c-00000001");
}

TEST(UdevParse, CollapsesBlankRunsOfT10Wwids) {
  // A t10 designator: vendor padded to 8, then product, then serial.
  EXPECT_EQ(wwid("t10.ATA     QEMU HARDDISK                           QM00001     \n"),
            "t10.ATA_QEMU_HARDDISK_QM00001");
  EXPECT_EQ(wwid("  t10.LIO-ORG\tblock\r\n"), "t10.LIO-ORG_block");
  // Control characters are separators too.
  EXPECT_EQ(wwid(std::string_view("a\x01\x7f"
                                  "b",
                                  4)),
            "a_b");
}

TEST(UdevParse, BlankWwidsAreNone) {
  EXPECT_EQ(wwid(""), "");
  EXPECT_EQ(wwid(" \n\t"), "");
}

TEST(UdevParse, AWwidThatDoesNotFitIsNone) {
  std::array<char, 8> small;
  EXPECT_EQ(normalise_wwid("naa.1234", small), "naa.1234");
  EXPECT_EQ(normalise_wwid("naa.12345", small), "");
  EXPECT_EQ(normalise_wwid("naa.123 4", small), "");  // "naa.123_4" is 9
}

TEST(UdevParse, TrimsVendorAndModel) {
  EXPECT_EQ(trim("Linux   "), "Linux");
  EXPECT_EQ(trim("scsi_debug      \n"), "scsi_debug");
  EXPECT_EQ(trim("  LIO-ORG "), "LIO-ORG");
  EXPECT_EQ(trim("IBM     2145"), "IBM     2145");  // inside is kept
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim(""), "");
}

TEST(UdevParse, DetectsTransports) {
  EXPECT_EQ(detect_transport("/devices/platform/host3/session1/target3:0:0/3:0:0:1/block/sdb", "sdb", true),
            Transport::Iscsi);
  EXPECT_EQ(detect_transport("/devices/pseudo_0/adapter0/host2/target2:0:0/2:0:0:0/block/sda", "sda", true),
            Transport::Scsi);
  EXPECT_EQ(detect_transport("/devices/pci0000:00/0000:00:1f.2/host5/rport-5:0-2/target5:0:0/"
                             "5:0:0:3/block/sdk",
                             "sdk", true),
            Transport::Scsi);  // FC is SCSI to the checkers
  EXPECT_EQ(detect_transport("/devices/virtual/block/nbd0", "nbd0", false), Transport::Nbd);
  EXPECT_EQ(detect_transport("/devices/virtual/nvme-fabrics/ctl/nvme1/nvme1n1", "nvme1n1", false),
            Transport::Nvme);
  EXPECT_EQ(detect_transport("/devices/virtual/block/dm-0", "dm-0", false), Transport::Unknown);
  EXPECT_EQ(detect_transport("/devices/pci0000:00/0000:00:04.0/virtio1/block/vda", "vda", false),
            Transport::Unknown);
  // Look-alikes.
  EXPECT_EQ(detect_transport("/devices/virtual/block/nbdx", "nbdx", false), Transport::Unknown);
  EXPECT_EQ(detect_transport("/devices/x/sessionless/block/sdz", "sdz", true), Transport::Scsi);
}

TEST(UdevParse, NamesTransportsAndDmDevices) {
  EXPECT_EQ(transport_name(Transport::Iscsi), "iscsi");
  EXPECT_EQ(transport_name(Transport::Unknown), "unknown");
  EXPECT_TRUE(is_dm_name("dm-0"));
  EXPECT_TRUE(is_dm_name("dm-12"));
  EXPECT_FALSE(is_dm_name("dm-"));
  EXPECT_FALSE(is_dm_name("dmx"));
  EXPECT_FALSE(is_dm_name("sda"));
}
