#include "core/grouping.h"

#include <algorithm>
#include <array>

namespace pk::core {

uint8_t alua_priority(std::string_view access_state) {
  Alua a;  // "": no ALUA, all paths alike
  if (!access_state.empty()) {
    if (!parse_alua_state(access_state, a.state)) return 0;
    a.settled = a.state;
  }
  return path_priority(a);
}

uint8_t path_priority(const Alua& a) {
  uint8_t prio = 0;
  switch (a.settled) {
    case AluaState::None:
      return 1;
    case AluaState::Optimized:
      prio = 50;
      break;
    case AluaState::NonOptimized:
      prio = 10;
      break;
    case AluaState::LbaDependent:
      prio = 5;
      break;
    case AluaState::Standby:
    case AluaState::Unknown:  // not read yet: alike, as without ALUA
      prio = 1;
      break;
    case AluaState::Unavailable:
    case AluaState::Transitioning:
    case AluaState::Offline:
      prio = 0;
      break;
  }
  return a.preferred ? static_cast<uint8_t>(prio + 80) : prio;
}

namespace {

// Paths with the same key share a group.
uint64_t group_key(Grouping g, const GroupInput& in, size_t index) {
  switch (g) {
    case Grouping::Failover:
      return index;
    case Grouping::Multibus:
      return 0;
    case Grouping::GroupByPrio:
      return in.priority;
    case Grouping::GroupByTpg:
      // Port groups first by id; a path whose group is unknown groups by priority.
      return in.tpg_known ? in.tpg : (uint64_t{1} << 32) | in.priority;
  }
  return 0;
}

}  // namespace

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

  // A group ranks by its best path; groups best first, ties by key; inside a
  // group, paths best first; devt breaks ties, so the same inputs give the
  // same table.
  const size_t n = inputs.size();
  std::array<uint64_t, 1024> key{};
  std::array<uint8_t, 1024> rank{};
  for (size_t i = 0; i < n; ++i) key[i] = group_key(settings.grouping, inputs[i], i);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      if (key[j] == key[i]) rank[i] = std::max(rank[i], inputs[j].priority);
  std::array<uint16_t, 1024> order{};
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint16_t>(i);
  auto devt_less = [](DevT a, DevT b) { return a.major != b.major ? a.major < b.major : a.minor < b.minor; };
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), [&](uint16_t a, uint16_t b) {
    if (rank[a] != rank[b]) return rank[a] > rank[b];
    if (key[a] != key[b]) {
      // Failover: one group per path, ordered like paths.
      if (settings.grouping == Grouping::Failover) return devt_less(inputs[a].devt, inputs[b].devt);
      return key[a] < key[b];
    }
    if (inputs[a].priority != inputs[b].priority) return inputs[a].priority > inputs[b].priority;
    return devt_less(inputs[a].devt, inputs[b].devt);
  });

  size_t group_count = 0;
  for (size_t k = 0; k < n; ++k) {
    const bool new_group = k == 0 || key[order[k]] != key[order[k - 1]];
    if (new_group) groups[group_count++] = TableGroup{settings.selector, static_cast<uint16_t>(k), 0};
    ++groups[group_count - 1].path_count;
    paths[k] = inputs[order[k]].devt;
    path_group[order[k]] = static_cast<uint16_t>(group_count);
  }
  t.groups = groups.first(group_count);
  t.paths = paths.first(n);
  return t;
}

}  // namespace pk::core
