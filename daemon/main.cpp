#include <cstdio>
#include <cstring>

#include "pk_build_config.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("pathkeeperd %s\n", PK_VERSION);
    return 0;
  }
  std::fprintf(stderr, "pathkeeperd: not implemented yet\n");
  return 1;
}
