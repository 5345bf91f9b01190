// Feeds LLVMFuzzerTestOneInput without libFuzzer, so every build exercises
// the fuzz entry point: each file of a seed corpus, then pseudo-random inputs
// (mutated seeds, random words, random bytes) from a fixed seed, so a failure
// repeats. Usage: fuzz_<target>_driver CORPUS_DIR [--random N] [--seed S]
// When the entry point aborts, the input is saved as ./fuzz-<target>-failure
// (PK_FUZZ_TARGET names the target; fuzz-request by default)
// (in the build directory under meson test), to replay with the fuzzer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>
#include <string>
#include <vector>

#include <csignal>
#include <fcntl.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

class Random {
 public:
  explicit Random(uint64_t seed) : s_(seed ? seed : 1) {}
  uint64_t next() {  // xorshift64*
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 2685821657736338717ull;
  }
  size_t below(size_t n) { return n ? static_cast<size_t>(next() % n) : 0; }

 private:
  uint64_t s_;
};

const char* const kWords[] = {"pk1",  "pk2",       "show",        "paths",    "maps",   "topology", "map",
                              "path", "status",    "config",      "fail",     "reinstate", "switch", "group",
                              "disable", "restore", "queueing",   "--all",    "reconfigure", "mpatha", "sdb",
                              "0",    "1",         "65535",       "65536",    "-1",     "a b",      ""};

std::string mutate(std::string s, Random& rng) {
  switch (rng.below(6)) {
    case 0:  // flip a byte
      if (!s.empty()) s[rng.below(s.size())] = static_cast<char>(rng.next());
      break;
    case 1:  // insert a NUL or a blank
      s.insert(rng.below(s.size() + 1), 1, rng.below(2) ? '\0' : ' ');
      break;
    case 2:  // cut
      s.resize(rng.below(s.size() + 1));
      break;
    case 3:  // repeat a piece
      if (!s.empty()) {
        size_t at = rng.below(s.size());
        s.insert(at, s.substr(at, rng.below(64)));
      }
      break;
    case 4:  // a frame header in front
    {
      uint32_t len = rng.below(3) ? static_cast<uint32_t>(s.size()) : static_cast<uint32_t>(rng.next());
      char h[4] = {static_cast<char>(len), static_cast<char>(len >> 8), static_cast<char>(len >> 16),
                   static_cast<char>(len >> 24)};
      s.insert(0, h, 4);
      break;
    }
    default:  // grow past the limit
      s.append(rng.below(5000), static_cast<char>('a' + rng.below(26)));
      break;
  }
  return s;
}

std::string random_words(Random& rng) {
  std::string s = rng.below(8) ? "pk1" : kWords[rng.below(std::size(kWords))];
  size_t n = rng.below(10);
  for (size_t i = 0; i < n; ++i) {
    s += '\0';
    s += kWords[rng.below(std::size(kWords))];
  }
  return s;
}

std::string random_bytes(Random& rng) {
  std::string s(rng.below(rng.below(4) ? 64 : 6000), '\0');
  for (char& c : s) c = static_cast<char>(rng.next());
  return s;
}

#ifndef PK_FUZZ_TARGET
#define PK_FUZZ_TARGET "fuzz-request"
#endif

const std::string* g_current = nullptr;

extern "C" void save_failure(int sig) {
  if (g_current) {
    int fd = ::open(PK_FUZZ_TARGET "-failure", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ssize_t n = ::write(fd, g_current->data(), g_current->size());
      (void)n;
      ::close(fd);
    }
    const char msg[] = PK_FUZZ_TARGET ": the entry point failed; input saved as " PK_FUZZ_TARGET "-failure\n";
    ssize_t n = ::write(2, msg, sizeof msg - 1);
    (void)n;
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void feed(const std::string& s) {
  g_current = &s;
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  g_current = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [--random N] [--seed S]\n", argv[0]);
    return 2;
  }
  size_t random_inputs = 5000;
  uint64_t seed = 20240601;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--random") == 0) random_inputs = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, save_failure);
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    if (!entry.is_regular_file()) continue;
    std::string bytes(static_cast<size_t>(entry.file_size()), '\0');
    std::ifstream in(entry.path(), std::ios::binary);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    corpus.push_back(std::move(bytes));
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "no seed inputs in %s\n", argv[1]);
    return 1;
  }
  for (const std::string& s : corpus) feed(s);

  Random rng(seed);
  for (size_t i = 0; i < random_inputs; ++i) {
    std::string s;
    switch (rng.below(3)) {
      case 0: {
        s = corpus[rng.below(corpus.size())];
        for (size_t k = rng.below(4) + 1; k; --k) s = mutate(std::move(s), rng);
        break;
      }
      case 1: s = random_words(rng); break;
      default: s = random_bytes(rng); break;
    }
    feed(s);
  }
  std::printf("fed %zu seed inputs and %zu pseudo-random inputs (seed %llu)\n", corpus.size(), random_inputs,
              static_cast<unsigned long long>(seed));
  return 0;
}
