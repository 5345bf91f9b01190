#include "core/device_rules.h"

#include <gtest/gtest.h>

#include <array>

using namespace pk::core;

TEST(Glob, MatchesLikeAShell) {
  EXPECT_TRUE(glob_match("sd*", "sda"));
  EXPECT_TRUE(glob_match("sd*", "sd"));
  EXPECT_FALSE(glob_match("sd*", "xsda"));
  EXPECT_TRUE(glob_match("nvme*n*", "nvme0n1"));
  EXPECT_FALSE(glob_match("nvme*n*", "nvme0"));
  EXPECT_TRUE(glob_match("sd?", "sdb"));
  EXPECT_FALSE(glob_match("sd?", "sdaa"));
  EXPECT_TRUE(glob_match("sd[a-c]", "sdb"));
  EXPECT_FALSE(glob_match("sd[a-c]", "sdd"));
  EXPECT_TRUE(glob_match("sd[!a-c]", "sdd"));
  EXPECT_TRUE(glob_match("a[b", "a[b")) << "an unterminated set is a literal";
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("", "a"));
  EXPECT_TRUE(glob_match("naa.6001*", "naa.60014055"));
  EXPECT_TRUE(glob_match("t10.IET *", "t10.IET VIRTUAL-DISK"));
}

TEST(Glob, HostilePatternsFinish) {
  std::string text(4000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*b", text));
}

TEST(DeviceRules, ExceptionsWinOverTheBlacklist) {
  std::vector<DeviceRule> blacklist{
      {DeviceRule::Field::Devnode, "sd*", "", "cfg:3:5"},
      {DeviceRule::Field::VendorProduct, "ATA", "*", "cfg:4:5"},
  };
  std::vector<DeviceRule> exceptions{{DeviceRule::Field::Wwid, "naa.6000*", "", "cfg:7:5"}};
  std::array<std::string_view, 1> props{"ID_SERIAL"};
  DeviceFacts san{"sdb", "naa.6000c29a", "LIO-ORG", "disk", props};
  DeviceFacts local{"sda", "t10.ATA SSD", "ATA", "Samsung", props};
  EXPECT_FALSE(is_blacklisted(blacklist, exceptions, san));
  const DeviceRule* why = nullptr;
  EXPECT_TRUE(is_blacklisted(blacklist, exceptions, local, &why));
  ASSERT_NE(why, nullptr);
  EXPECT_EQ(why->file_position, "cfg:3:5");
}

TEST(DeviceRules, PropertyRules) {
  std::vector<DeviceRule> blacklist{{DeviceRule::Field::Property, "ID_ATA*", "", ""}};
  std::array<std::string_view, 2> ata{"ID_SERIAL", "ID_ATA_FEATURE_SET_SMART"};
  std::array<std::string_view, 1> scsi{"ID_SCSI"};
  EXPECT_TRUE(is_blacklisted(blacklist, {}, {"sda", "", "", "", ata}));
  EXPECT_FALSE(is_blacklisted(blacklist, {}, {"sdb", "", "", "", scsi}));
}
