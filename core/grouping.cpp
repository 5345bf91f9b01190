#include "core/grouping.h"

#include <algorithm>
#include <array>

namespace pk::core {

uint8_t alua_priority(std::string_view s) {
  if (s.empty()) return 1;  // no ALUA: all paths alike
  if (s == "active/optimized") return 50;
  if (s == "active/non-optimized") return 10;
  if (s == "lba-dependent") return 5;
  if (s == "standby") return 1;
  return 0;  // unavailable, transitioning, offline
}

MultipathTable build_table(const MapSettings& settings, std::span<const GroupInput> inputs,
                           std::span<TableGroup> groups, std::span<DevT> paths,
                           std::span<uint16_t> path_group) {
  MultipathTable t;
  t.features.queue_if_no_path = settings.no_path_retry.kind != NoPathRetry::Kind::Fail;
  t.features.retain_attached_hw_handler = true;
  t.features.pg_init_retries = settings.pg_init_retries;
  const bool any_alua = std::any_of(inputs.begin(), inputs.end(), [](const GroupInput& g) { return g.alua; });
  if (settings.hw_handler == HwHandler::Alua || (settings.hw_handler == HwHandler::Auto && any_alua))
    t.hw_handler = "alua";
  // The kernel takes at most 1024 paths per group; callers size the spans.
  if (inputs.empty() || inputs.size() > 1024 || groups.size() < inputs.size() ||
      paths.size() < inputs.size() || path_group.size() < inputs.size())
    return t;

  // Order the paths best first; stable on devt so the same inputs give the same table.
  const size_t n = inputs.size();
  std::array<uint16_t, 1024> order{};
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint16_t>(i);
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), [&](uint16_t a, uint16_t b) {
    const GroupInput& x = inputs[a];
    const GroupInput& y = inputs[b];
    if (x.priority != y.priority) return x.priority > y.priority;
    if (x.devt.major != y.devt.major) return x.devt.major < y.devt.major;
    return x.devt.minor < y.devt.minor;
  });

  size_t group_count = 0;
  for (size_t k = 0; k < n; ++k) {
    const GroupInput& in = inputs[order[k]];
    bool new_group = k == 0;
    switch (settings.grouping) {
      case Grouping::Failover: new_group = true; break;
      case Grouping::Multibus: break;
      case Grouping::GroupByPrio:
        new_group = new_group || in.priority != inputs[order[k - 1]].priority;
        break;
    }
    if (new_group) groups[group_count++] = TableGroup{settings.selector, static_cast<uint16_t>(k), 0};
    ++groups[group_count - 1].path_count;
    paths[k] = in.devt;
    path_group[order[k]] = static_cast<uint16_t>(group_count);
  }
  t.groups = groups.first(group_count);
  t.paths = paths.first(n);
  return t;
}

}  // namespace pk::core
