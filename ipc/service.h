// The control socket service: answers pathkeeperctl (protocol pk1, see
// ipc/protocol.md) on its own thread, and serves D-Bus on the same thread
// (ipc/dbus_service.h, ipc/dbus-interface.md). Reads are answered from the snapshot
// the loop publishes, so `show` never waits for the loop (design rule 7);
// commands that change state go to the loop through the CommandChannel, and
// the client (not the thread) waits for the result.
//
// Everything is allocated in init(): a request buffer and a small reply
// buffer per client slot, one reply buffer for snapshot documents sized from
// the limits, the configuration text buffers. After init the control socket
// side never allocates, and never blocks on a client: every socket is
// non-blocking, a client that does not take its reply within a deadline is
// dropped. The D-Bus side allocates per message through sd-bus (control-plane
// work, from the heap reserved at start-up) and never blocks either.
//
// Use (daemon, start-up, before READY):
//   Service service;
//   if (!service.init(config, snapshots, commands, err)) ...;
//   service.set_config_text(yaml);              // for `show config`
//   std::thread t([&] { service.run(stop); });  // its one reader of `snapshots`
//   ...
//   stop = true; service.wake(); t.join();
//
// Threads: init before the thread starts; run on the service thread; wake,
// stats from any thread; set_config_text and set_control_group from one
// control-plane thread (they never wait for the service thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/config.h"
#include "core/error.h"
#include "core/snapshot.h"
#include "ipc/commands.h"
#include "ipc/dbus_service.h"

namespace pk::ipc {

struct ServiceOptions {
  std::chrono::milliseconds command_timeout{30000};  // loop's answer to a state-changing command
  std::chrono::milliseconds send_timeout{10000};     // a client must take its whole reply within this
  std::chrono::milliseconds idle_timeout{60000};     // a whole request must arrive within this
  size_t config_text_capacity = 256 * 1024;          // largest `show config` text
  // D-Bus (ipc/dbus_service.h): org.pathkeeper.PathKeeper1 on the system bus
  // by default. Its command_timeout is this struct's.
  DbusOptions dbus;
};

struct ServiceStats {
  uint32_t clients = 0;      // connected now
  uint32_t max_clients = 0;  // Limits::max_clients
  uint64_t requests = 0;     // requests read (whatever their outcome)
  uint64_t error_replies = 0;
  uint64_t refused_busy = 0;          // connections over max_clients, answered "busy" and closed
  uint64_t dropped_slow = 0;          // clients that did not take their reply in time
  uint64_t dropped_idle = 0;          // clients that did not send a whole request in time
  uint64_t command_timeouts = 0;      // the loop did not answer a command in time
  uint64_t reply_bytes_reserved = 0;  // the snapshot reply buffer
  DbusStats dbus;
};

class Service {
 public:
  Service();
  ~Service();  // closes every socket and removes the socket file it created
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Start-up: resolves control_group, creates the socket's directory when
  // missing, removes a stale socket (only when nobody answers on it), binds
  // Config::control_socket (mode 0666: everyone may connect, only root and
  // control_group may change state) and allocates every buffer.
  //
  // The service degrades rather than fail: a socket that cannot be made
  // (read-only /run, a file in its place) leaves D-Bus serving alone, and
  // a control_group that is not a group here (NSS not up yet at boot)
  // leaves changes to root; problems() says which and why.
  // False with a message when another daemon answers on the socket
  // (another_daemon() is then true), for a configuration no socket could
  // serve (a relative path, max_clients 0), or when the service's own
  // epoll and eventfd cannot be made; then run() returns at once.
  bool init(const core::Config& config, core::SnapshotExchange& snapshots, CommandChannel& commands,
            core::Error& err, const ServiceOptions& options = {});

  struct Problems {
    core::Error socket;  // why there is no control socket
    core::Error group;   // why control_group is not in force
    bool another_daemon = false;
  };
  // What init() had to do without. Start-up thread.
  const Problems& problems() const { return problems_; }

  // The service thread: serves until `stop` is true (set it, then wake()).
  void run(std::atomic<bool>& stop);
  // Any thread: makes run() look at `stop` now.
  void wake();

  // The effective configuration as YAML, shown by `show config`. Copied into
  // a preallocated buffer; false (and `show config` says why) when longer
  // than ServiceOptions::config_text_capacity. One control-plane thread.
  bool set_config_text(std::string_view yaml);
  // Reconfigure: a new control_group. False (policy unchanged) for an unknown group.
  bool set_control_group(std::string_view group, core::Error& err);

  ServiceStats stats() const;
  std::string_view socket_path() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  Problems problems_;
};

}  // namespace pk::ipc
