#include "core/snapshot.h"

namespace pk::core {

void Snapshot::init(uint32_t max_paths, uint32_t max_maps) {
  paths = std::make_unique<PathRecord[]>(max_paths);
  maps = std::make_unique<MapRecord[]>(max_maps);
  path_count = 0;
  map_count = 0;
}

void SnapshotExchange::init(uint32_t max_paths, uint32_t max_maps) {
  for (Snapshot& s : buffers()) s.init(max_paths, max_maps);
}

}  // namespace pk::core
