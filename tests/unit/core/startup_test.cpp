// Which start-up failures stop the daemon and which it starts without, and
// how what it started without is said.
#include "core/startup.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/support/heap_guard.h"

using namespace pk::core;

namespace {

std::string described(const StartupReport& r) {
  char buf[1024];
  FixedWriter w(buf);
  r.describe(w);
  return std::string(w.view());
}

}  // namespace

TEST(StartupRules, OnlyWhatMapsNeedStopsTheDaemon) {
  for (StartupStep s :
       {StartupStep::Configuration, StartupStep::DeviceMapper, StartupStep::DeviceDiscovery,
        StartupStep::SystemTrees, StartupStep::Checkers, StartupStep::EventLoop, StartupStep::AnotherDaemon})
    EXPECT_EQ(startup_rule(s).verdict, StartupVerdict::Stop) << startup_rule(s).key;
  for (StartupStep s :
       {StartupStep::LogFile, StartupStep::LogWriter, StartupStep::MemoryLock, StartupStep::HeapReserve,
        StartupStep::IoFlusher, StartupStep::OomProtection, StartupStep::BindingsFile,
        StartupStep::NameFilesWriter, StartupStep::ControlSocket, StartupStep::ControlGroup})
    EXPECT_EQ(startup_rule(s).verdict, StartupVerdict::Degrade) << startup_rule(s).key;
}

TEST(StartupRules, EveryStepHasAUniqueKeyAndSaysWhatFollows) {
  std::set<std::string> keys;
  for (const StartupRule& r : startup_rules()) {
    EXPECT_EQ(&startup_rule(r.step), &r);
    EXPECT_TRUE(keys.insert(r.key).second) << r.key;
    EXPECT_GT(std::string(r.what).size(), 0u) << r.key;
    EXPECT_GT(std::string(r.effect).size(), 10u) << r.key;
  }
}

TEST(StartupReport, AStopIsNotRecordedADegradationIs) {
  StartupReport r;
  EXPECT_EQ(r.failed(StartupStep::DeviceMapper, "cannot open /dev/mapper/control: No such file"),
            StartupVerdict::Stop);
  EXPECT_FALSE(r.degraded());
  EXPECT_EQ(
      r.failed(StartupStep::LogFile, "cannot allocate 16 MiB for the log file: No space left on device"),
      StartupVerdict::Degrade);
  ASSERT_TRUE(r.degraded());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].step, StartupStep::LogFile);
  EXPECT_EQ(r[0].reason.view(), "cannot allocate 16 MiB for the log file: No space left on device");
  ASSERT_NE(r.find(StartupStep::LogFile), nullptr);
  EXPECT_EQ(r.find(StartupStep::MemoryLock), nullptr);
}

TEST(StartupReport, AStepKeepsItsFirstReason) {
  StartupReport r;
  r.failed(StartupStep::LogFile, "first");
  r.failed(StartupStep::LogFile, "second");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reason.view(), "first");
}

TEST(StartupReport, ALongReasonIsCutAndSaysSo) {
  StartupReport r;
  r.failed(StartupStep::LogFile, std::string(400, 'x'));
  std::string_view reason = r[0].reason.view();
  EXPECT_EQ(reason.size(), 255u);
  EXPECT_EQ(reason.substr(252), "...");
}

TEST(StartupReport, DescribesEachPartWithItsReasonInOrder) {
  StartupReport r;
  EXPECT_EQ(described(r), "");
  r.failed(StartupStep::LogFile, "/var/log/pathkeeper: Read-only file system");
  r.failed(StartupStep::MemoryLock, "mlockall failed: Cannot allocate memory");
  EXPECT_EQ(
      described(r),
      "started without the log file (/var/log/pathkeeper: Read-only file system); without locked memory "
      "(mlockall failed: Cannot allocate memory)");
}

TEST(StartupReport, RecordingAndDescribingNeverAllocate) {
  StartupReport r;
  char buf[512];
  pk::test::heap_guard::arm();
  r.failed(StartupStep::ControlSocket, "cannot bind /run/pathkeeper/control.sock: Read-only file system");
  FixedWriter w(buf);
  r.describe(w);
  pk::test::heap_guard::disarm();
  EXPECT_EQ(pk::test::heap_guard::count(), 0u)
      << "first heap call from " << pk::test::heap_guard::first_caller();
}
