// The D-Bus service: org.pathkeeper.PathKeeper1 on the system bus, with a
// manager object, one object per map and one per path (ipc/dbus-interface.md).
// It is part of the control socket's service thread (ipc/service.h), not a
// thread of its own:
// - the bus connection's fd sits in the service thread's epoll; the service
//   calls tick() after every epoll_wait and folds timeout_ms() into its wait
//   (sd_bus_get_events / sd_bus_get_timeout / sd_bus_process);
// - properties are read from the snapshot the service thread takes
//   (core::SnapshotExchange has one reader: that thread); every
//   poll_interval the newest snapshot is compared with the one before
//   (ChangeTracker) and PropertiesChanged / InterfacesAdded /
//   InterfacesRemoved go out;
// - methods that change state are authorised like the control socket (root
//   or the control group; the caller's uid and groups come from the bus
//   daemon, asked asynchronously), go to the loop through the same
//   CommandChannel, and are answered when the loop's result comes back.
//
// Memory: the call table, the change tracker and the snapshot copy it keeps
// are allocated in init(). sd-bus itself allocates per message (reading,
// replying, signalling, the node list of an introspection): that is
// control-plane work on the service thread, served from the heap reserved
// and locked at start-up (design rule 2); the loop never waits for it. The
// write queue is bounded: while more than kMaxQueuedWrites messages wait for
// the bus daemon, no signals are built (the changes are signalled, merged,
// once it drains).
//
// Never blocking: the connection, the name request, the credential queries
// are all asynchronous; no sd_bus_call. A system bus that is absent at
// start-up, or goes away, leaves the control socket serving: the service says
// so once and looks for the bus again every retry_interval.
//
// Threads: init() at start-up, before the service thread; everything else on
// the service thread, except stats() (any thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "core/snapshot.h"
#include "ipc/auth.h"
#include "ipc/commands.h"

namespace pk::ipc {

struct DbusOptions {
  bool enabled = true;
  std::string address;  // "" = the system bus (DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket)
  std::chrono::milliseconds command_timeout{30000};  // the loop's answer to a method
  std::chrono::milliseconds poll_interval{100};      // how often a new snapshot is looked for
  std::chrono::milliseconds retry_interval{5000};    // how often an absent bus is looked for
  // Where the few messages of the D-Bus side go (bus absent or lost, name
  // taken or refused): a syslog priority (3..7) and the text. nullptr: stderr
  // in the daemon's format ("<5>notice dbus: ..."), one write per message.
  void (*log)(int priority, const char* text) = nullptr;
};

// What the service thread lends the D-Bus side.
class DbusHost {
 public:
  virtual uint32_t take_token() = 0;                 // a command token unique among the thread's
  virtual ControlPolicy control_policy() const = 0;  // who may change state, now
  // The buffer for JSON documents, shared with the control socket; empty
  // while a socket reply is being sent from it.
  virtual std::span<char> render_buffer() = 0;
  virtual std::span<uint32_t> render_scratch() = 0;

 protected:
  ~DbusHost() = default;
};

struct DbusStats {
  bool connected = false;   // a bus connection is open
  bool name_owned = false;  // org.pathkeeper.PathKeeper1 is ours
  uint64_t connects = 0;
  uint64_t method_calls = 0;      // state-changing and GetTopologyJSON calls
  uint64_t denied = 0;            // calls refused by the authorisation
  uint64_t signals = 0;           // signals sent
  uint64_t signals_deferred = 0;  // comparisons put off: the write queue was full
};

class DbusService {
 public:
  static constexpr uint32_t kMaxCalls = 32;  // methods waiting for credentials, the loop or the buffer
  static constexpr uint64_t kMaxQueuedWrites = 256;  // messages waiting for the bus daemon

  DbusService();
  ~DbusService();  // closes the connection without flushing it (never waits)
  DbusService(const DbusService&) = delete;
  DbusService& operator=(const DbusService&) = delete;

  // Start-up: allocates the tables and, when the bus is there, connects and
  // registers the objects (nothing waits for the bus daemon). The bus fd is
  // added to `epoll_fd` with `epoll_tag`. False only for an error of our
  // own (an absent or unreachable bus is not one).
  bool init(const DbusOptions& options, const core::Limits& limits, core::SnapshotExchange& snapshots,
            CommandChannel& commands, DbusHost& host, int epoll_fd, uint64_t epoll_tag, core::Error& err);

  // Service thread, after every epoll_wait: reconnects when due, signals
  // changes of a new snapshot, processes the bus, answers what can be
  // answered, expires calls, and updates the fd's epoll interest.
  void tick();
  // Service thread: milliseconds until tick() must run again (-1: only when
  // the fd says so).
  int timeout_ms() const;
  // Service thread: a result from the loop. True when the token was ours.
  bool on_result(const CommandResult& r);

  DbusStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pk::ipc
