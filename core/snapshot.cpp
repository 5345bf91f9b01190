#include "core/snapshot.h"

namespace pk::core {

void Snapshot::init(uint32_t max_paths, uint32_t max_maps) {
  paths = std::make_unique<PathRecord[]>(max_paths);
  maps = std::make_unique<MapRecord[]>(max_maps);
  path_count = 0;
  map_count = 0;
}

void SnapshotExchange::init(uint32_t max_paths, uint32_t max_maps) {
  for (Snapshot& s : buffers_) s.init(max_paths, max_maps);
}

void SnapshotExchange::publish() {
  // Hand the filled buffer over as the fresh middle; take the old middle back.
  uint8_t old = middle_.exchange(static_cast<uint8_t>(back_ | kFresh), std::memory_order_acq_rel);
  back_ = old & ~kFresh & 3;
}

const Snapshot& SnapshotExchange::latest() {
  if (middle_.load(std::memory_order_acquire) & kFresh) {
    uint8_t old = middle_.exchange(front_, std::memory_order_acq_rel);
    front_ = old & 3;
  }
  return buffers_[front_];
}

}  // namespace pk::core
