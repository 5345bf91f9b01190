// The files other tools read to know the maps: the bindings file (friendly
// names, naming.bindings_file) and the wwids file (every WWID made into a map,
// naming.wwids_file; LVM reads it). Both in multipath-tools' formats
// (core/bindings.h, core/wwids.h).
//
// Start-up reads them into tables sized from limits (what was read plus
// limits.max_maps); when pathkeeper's bindings file does not exist yet and
// multipath-tools' does, its names are taken and written into pathkeeper's.
// After that the loop binds names and notes WWIDs in those tables, which
// never allocates, and hands the new content to a writer thread of its own
// without waiting: the bindings as a whole text through a triple buffer,
// the WWIDs as lines appended to a buffer the writer reads up to a published
// length. The writer writes a temp file, fsyncs it, renames it over the file
// and fsyncs the folder. The wwids file is merged: what is on disk stays, the
// lines it lacks are added. A write that fails is retried (1 s, doubling to
// 30 s) with the newest content; status says so meanwhile.
//
// Threads: open/start/stop on the main thread (start-up, shut-down); bind,
// unbind, map_made, set_friendly and status on the loop thread; the writer on
// its own (1 MiB stack, PR_SET_IO_FLUSHER). Blocking: open and stop;
// never on the loop. Allocation: open and start only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/bindings.h"
#include "core/config.h"
#include "core/error.h"
#include "core/snapshot.h"
#include "core/triple_buffer.h"
#include "core/wwids.h"
#include "daemon/idle_parker.h"

namespace pk::daemon {

struct NameFilesOptions {
  // multipath-tools' file, read when pathkeeper's bindings file does not exist.
  std::string multipath_bindings = "/etc/multipath/bindings";
  int64_t retry_first_ns = 1'000'000'000;
  int64_t retry_max_ns = 30'000'000'000;
};

class NameFiles {
 public:
  NameFiles() = default;
  ~NameFiles();
  NameFiles(const NameFiles&) = delete;
  NameFiles& operator=(const NameFiles&) = delete;

  // Start-up: reads the files (every bad line is logged with its number),
  // sizes the tables and the writer's buffers. With friendly names on, a
  // bindings file that exists but cannot be read turns them off for this run
  // (names could be given twice): friendly_refused() says why, maps are named
  // by their WWID, the file is never written. Never fails.
  void open(const core::Config& config, const NameFilesOptions& options);
  // Why friendly names are off this run although asked for; empty otherwise.
  const core::Error& friendly_refused() const { return friendly_refused_; }
  // Start-up, before READY: the writer thread. What open() found to be
  // written (names taken from multipath-tools) is written first. False
  // when the thread cannot start: the files are not written this run
  // (status shows them pending), names are still given.
  bool start(core::Error& err);
  // Shut-down: one last attempt at what is pending, then the thread ends.
  void stop();

  // ---- the loop thread
  const core::BindingTable& bindings() const { return bindings_; }
  // Binds a name; the file follows (with friendly names on).
  core::BindingTable::AddResult bind(std::string_view alias, std::string_view wwid);
  // Unbinds the WWID (its alias gave way to one in maps:).
  void unbind(std::string_view wwid);
  // A map was made for `wwid`: it is known from now on, and the wwids file
  // gets it (when one is kept).
  void map_made(std::string_view wwid);
  // Whether `wwid` was made into a map before: in the wwids file as read at
  // start-up, or made (or adopted) since. find_multipaths maps it whatever
  // its number of paths.
  bool known(std::string_view wwid) const { return wwids_.contains(wwid); }
  // naming.user_friendly_names now: when on, bindings not on disk are written.
  void set_friendly(bool on);
  // A map left named by its WWID although friendly names are on.
  void note_unnamed() { ++bindings_refused_; }
  void status(core::NameFileUse& bindings, core::NameFileUse& wwids) const;

  // Tests: whether the writer has written everything handed to it.
  bool settled() const;

 private:
  struct Progress {
    std::atomic<uint64_t> written{0};  // the newest generation on disk
    std::atomic<uint64_t> writes{0}, errors{0};
    std::atomic<uint32_t> failure{0};  // step << 16 | errno of the last failure; 0 after a success
  };

  void read_bindings(const core::Config& config, const NameFilesOptions& options);
  void read_wwids(const core::Config& config);
  void hand_bindings();  // formats the table into the back buffer and publishes it

  void thread_main();
  bool write_bindings();
  bool write_wwids();
  struct Target {
    std::string path, tmp, folder;  // the file, its temp file beside it, their folder
    void set(const std::string& file);
  };
  bool replace_file(const Target& t, const char* a, size_t a_len, const char* b, size_t b_len,
                    Progress& progress);
  void fail(Progress& p, uint32_t step, int error);

  NameFilesOptions options_;
  Target bindings_file_, wwids_file_;
  bool friendly_ = false;
  bool bindings_writable_ = true;  // false: it exists but could not be read
  core::Error friendly_refused_;
  IdleParker parker_;  // the writer sleeps there; the loop wakes it only when it is idle
  std::thread thread_;
  std::atomic<bool> stop_{false};

  // Bindings: the loop's table, its text in a triple buffer for the writer.
  core::BindingTable bindings_;
  struct BindingsText {
    std::unique_ptr<char[]> text;  // bindings_text_cap_ bytes
    size_t len = 0;
    uint64_t gen = 0;  // the content's generation (bindings_gen_ when formatted)
  };
  core::TripleBuffer<BindingsText> bindings_text_;
  size_t bindings_text_cap_ = 0;
  uint64_t bindings_gen_ = 0;     // loop: the newest content's generation
  uint64_t bindings_handed_ = 0;  // loop: the newest generation handed to the writer
  uint64_t bindings_refused_ = 0;
  Progress bindings_progress_;

  // WWIDs: the loop's set; the lines new this run, appended, published by length.
  core::WwidSet wwids_;
  std::unique_ptr<char[]> wwids_added_;
  size_t wwids_added_cap_ = 0;
  size_t wwids_added_len_ = 0;              // loop's
  std::atomic<size_t> wwids_published_{0};  // what the writer may read
  uint64_t wwids_refused_ = 0;
  Progress wwids_progress_;
  // The writer's: the file as it is on disk, and the lines it lacks.
  std::unique_ptr<char[]> wwids_disk_, wwids_missing_;
  size_t wwids_disk_cap_ = 0, wwids_missing_cap_ = 0;
};

}  // namespace pk::daemon
