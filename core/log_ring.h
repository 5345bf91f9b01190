// The log ring: a bounded multi-producer, single-consumer queue of fixed-size
// LogRecords, allocated once at start-up. Any thread formats a message
// straight into a claimed slot and commits it; the log writer thread is the
// one consumer. A full ring refuses the record and counts the drop: a
// producer never waits, whatever happens to the disk or journald (design
// rule 5). The algorithm is Dmitry Vyukov's bounded queue: each slot carries a
// sequence number that says whose turn it is.
//
// Threads: init/destruction on one thread before and after use; try_claim,
// commit and the counters from any thread; front/pop from the one consumer.
// Blocking: never (a claim retries only while other producers race for the
// same slot). Allocation: init only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/log_record.h"

namespace pk::core {

class LogRing {
 public:
  struct Claim {
    LogRecord* record = nullptr;  // null: the ring was full, the drop is counted
    uint64_t position = 0;
    explicit operator bool() const { return record != nullptr; }
  };

  // Start-up: `capacity` slots (at least 2). Not thread-safe.
  void init(uint32_t capacity);
  uint32_t capacity() const { return capacity_; }

  // Producer: a slot to fill, or a drop.
  Claim try_claim();
  // Producer: hands the filled slot to the consumer.
  void commit(const Claim& c);

  // Consumer: the oldest committed record, or null when there is none (yet).
  const LogRecord* front() const;
  // Consumer: releases the record front() gave.
  void pop();

  // Records claimed and not yet popped (an approximation while producers run).
  uint32_t used() const;
  uint32_t high_water() const { return high_water_.load(std::memory_order_relaxed); }
  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    std::atomic<uint64_t> turn{0};  // == position: free to claim; == position + 1: committed
    LogRecord record;
  };

  std::unique_ptr<Slot[]> slots_;
  uint32_t capacity_ = 0;
  alignas(64) std::atomic<uint64_t> head_{0};  // next position to claim
  alignas(64) std::atomic<uint64_t> tail_{0};  // next position to pop (consumer)
  alignas(64) std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint32_t> high_water_{0};
};

}  // namespace pk::core
