// Which block devices pathkeeper manages: blacklist rules, their exceptions,
// and the shell-glob matching they use.
// Threads: loop thread (control plane: device added). Blocking: never.
// Allocation: never.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "core/config.h"

namespace pk::core {

// Shell-style glob over the whole text: * (any run), ? (one char),
// [abc] [a-z] [!a] (one char of / not of a set). Unbalanced [ matches itself.
bool glob_match(std::string_view pattern, std::string_view text);

struct DeviceFacts {
  std::string_view devnode;  // "sda"
  std::string_view wwid;
  std::string_view vendor;
  std::string_view product;
  std::span<const std::string_view> property_names;
};

bool rule_matches(const DeviceRule& rule, const DeviceFacts& dev);

// Blacklisted when a blacklist rule matches and no exception does.
// `why` is set to the matching rule's position, for the log.
bool is_blacklisted(const std::vector<DeviceRule>& blacklist, const std::vector<DeviceRule>& exceptions,
                    const DeviceFacts& dev, const DeviceRule** why = nullptr);

}  // namespace pk::core
