#include <cstdio>
#include <cstring>

#include "pk_build_config.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("pathkeeperctl %s\n", PK_VERSION);
    return 0;
  }
  std::fprintf(stderr, "pathkeeperctl: not implemented yet\n");
  return 2;
}
