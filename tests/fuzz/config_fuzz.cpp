// Fuzz entry point for the configuration loader (daemon/config): the YAML
// file an administrator writes, and reconfigure's new text. Besides "does not
// crash or throw", it checks the loader's promises: an error leaves the
// configuration untouched and names a position; an accepted configuration
// dumps to YAML that loads again to an equivalent configuration.
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/config/config_loader.h"
#include "tests/fuzz/fuzz_check.h"

using pk::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pk::daemon;
  std::string_view text = pk::fuzz::text(data, size);
  pk::core::Config c = default_config();
  c.control_socket = "/untouched";
  LoadResult r = load_config_text(text, "fuzz.yaml", c);
  if (!r.ok) {
    check(!r.error.empty() && r.error.rfind("fuzz.yaml", 0) == 0);
    check(c.control_socket == "/untouched");
    return 0;
  }
  std::string yaml = dump_config_yaml(c);
  pk::core::Config again = default_config();
  LoadResult r2 = load_config_text(yaml, "dump.yaml", again);
  check(r2.ok);
  check(equivalent(c, again));
  return 0;
}
