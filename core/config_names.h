// The names of the configuration's choices, as pathkeeper.yaml(5) writes them
// (the JSON status and the configuration dump print the same words).
// Any thread; never blocks or allocates (the strings are static).
#pragma once

#include <string_view>

#include "core/config.h"

namespace pk::core {

std::string_view grouping_name(Grouping g);
std::string_view hw_handler_name(HwHandler h);
// Delayed is "delayed" here; the dump writes its delay instead.
std::string_view failback_name(Failback f);

}  // namespace pk::core
