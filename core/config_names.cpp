#include "core/config_names.h"

namespace pk::core {

std::string_view grouping_name(Grouping g) {
  switch (g) {
    case Grouping::Failover:
      return "failover";
    case Grouping::Multibus:
      return "multibus";
    case Grouping::GroupByPrio:
      return "group_by_prio";
    case Grouping::GroupByTpg:
      return "group_by_tpg";
  }
  return "?";
}

std::string_view hw_handler_name(HwHandler h) {
  switch (h) {
    case HwHandler::Auto:
      return "auto";
    case HwHandler::Alua:
      return "alua";
    case HwHandler::None:
      return "none";
  }
  return "?";
}

std::string_view failback_name(Failback f) {
  switch (f) {
    case Failback::Immediate:
      return "immediate";
    case Failback::Manual:
      return "manual";
    case Failback::Followover:
      return "followover";
    case Failback::Delayed:
      return "delayed";
  }
  return "?";
}

}  // namespace pk::core
