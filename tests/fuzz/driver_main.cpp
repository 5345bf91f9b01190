// Feeds a fuzz target's LLVMFuzzerTestOneInput without libFuzzer, so every
// build (any compiler, the sanitizer builds too) exercises it: each file of
// its seed corpus, then pseudo-random inputs from a fixed seed, so a failure
// repeats: seeds mutated (bytes flipped, cut, repeated, spliced, a length
// prefix, a dictionary word inserted), dictionary words joined, random bytes.
//
//   fuzz_NAME_driver CORPUS_DIR [--dict FILE] [--random N] [--seed S]
//
// --dict takes libFuzzer's dictionary format ("word" per line, \xNN escapes).
// When the entry point aborts, the input is saved as ./fuzz-NAME-failure (in
// the build directory under meson test), to replay with the driver or the
// libFuzzer target.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

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

std::string read_file(const std::filesystem::path& p) {
  std::string bytes(static_cast<size_t>(std::filesystem::file_size(p)), '\0');
  std::ifstream in(p, std::ios::binary);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

// libFuzzer's dictionary: lines `"word"` or `name="word"`; # starts a comment.
std::vector<std::string> read_dictionary(const char* path) {
  std::vector<std::string> words;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t open = line.find('"');
    size_t close = line.rfind('"');
    if (line.empty() || line[0] == '#' || open == std::string::npos || close <= open) continue;
    std::string w;
    for (size_t i = open + 1; i < close; ++i) {
      if (line[i] == '\\' && i + 1 < close) {
        ++i;
        if (line[i] == 'x' && i + 2 < close) {
          w += static_cast<char>(std::strtoul(line.substr(i + 1, 2).c_str(), nullptr, 16));
          i += 2;
          continue;
        }
      }
      w += line[i];
    }
    words.push_back(w);
  }
  return words;
}

struct Inputs {
  std::vector<std::string> corpus;
  std::vector<std::string> words;
};

std::string mutate(std::string s, const Inputs& in, Random& rng) {
  switch (rng.below(8)) {
    case 0:  // flip a byte
      if (!s.empty()) s[rng.below(s.size())] = static_cast<char>(rng.next());
      break;
    case 1:  // insert a NUL, a blank or a newline
      s.insert(rng.below(s.size() + 1), 1, "\0 \n"[rng.below(3)]);
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
    case 4: {  // a 32-bit length prefix, right or not
      uint32_t len = rng.below(3) ? static_cast<uint32_t>(s.size()) : static_cast<uint32_t>(rng.next());
      char h[4] = {static_cast<char>(len), static_cast<char>(len >> 8), static_cast<char>(len >> 16),
                   static_cast<char>(len >> 24)};
      s.insert(0, h, 4);
      break;
    }
    case 5:  // splice with another seed
    {
      const std::string& other = in.corpus[rng.below(in.corpus.size())];
      s = s.substr(0, rng.below(s.size() + 1)) + other.substr(rng.below(other.size() + 1));
      break;
    }
    case 6:  // a dictionary word somewhere
      if (!in.words.empty()) s.insert(rng.below(s.size() + 1), in.words[rng.below(in.words.size())]);
      break;
    default:  // grow long
      s.append(rng.below(5000), static_cast<char>('a' + rng.below(26)));
      break;
  }
  return s;
}

std::string joined_words(const Inputs& in, Random& rng) {
  std::string s;
  for (size_t n = rng.below(12); n > 0; --n) {
    s += in.words[rng.below(in.words.size())];
    s += " \n\0"[rng.below(3)];
  }
  return s;
}

std::string random_bytes(Random& rng) {
  std::string s(rng.below(rng.below(4) ? 64 : 6000), '\0');
  for (char& c : s) c = static_cast<char>(rng.next());
  return s;
}

const std::string* g_current = nullptr;
char g_failure_name[256] = "fuzz-failure";

extern "C" void save_failure(int sig) {
  if (g_current) {
    int fd = ::open(g_failure_name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      [[maybe_unused]] ssize_t n = ::write(fd, g_current->data(), g_current->size());
      ::close(fd);
    }
    const char msg[] = "fuzz driver: the entry point failed; the input is saved as ";
    [[maybe_unused]] ssize_t n = ::write(2, msg, sizeof msg - 1);
    n = ::write(2, g_failure_name, std::strlen(g_failure_name));
    n = ::write(2, "\n", 1);
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
    std::fprintf(stderr, "usage: %s CORPUS_DIR [--dict FILE] [--random N] [--seed S]\n", argv[0]);
    return 2;
  }
  // fuzz_NAME_driver saves failures as fuzz-NAME-failure.
  std::string name = std::filesystem::path(argv[0]).filename().string();
  if (name.size() > 7 && name.compare(name.size() - 7, 7, "_driver") == 0) name.resize(name.size() - 7);
  for (char& c : name) c = c == '_' ? '-' : c;
  std::snprintf(g_failure_name, sizeof g_failure_name, "%s-failure", name.c_str());

  size_t random_inputs = 5000;
  uint64_t seed = 20240601;
  Inputs in;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--random") == 0) random_inputs = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--dict") == 0) in.words = read_dictionary(argv[i + 1]);
  }
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, save_failure);
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    if (entry.is_regular_file()) in.corpus.push_back(read_file(entry.path()));
  }
  if (in.corpus.empty()) {
    std::fprintf(stderr, "no seed inputs in %s\n", argv[1]);
    return 1;
  }
  for (const std::string& s : in.corpus) feed(s);

  Random rng(seed);
  for (size_t i = 0; i < random_inputs; ++i) {
    std::string s;
    switch (rng.below(in.words.empty() ? 2 : 3)) {
      case 0:
        s = in.corpus[rng.below(in.corpus.size())];
        for (size_t k = rng.below(4) + 1; k; --k) s = mutate(std::move(s), in, rng);
        break;
      case 1:
        s = random_bytes(rng);
        break;
      default:
        s = joined_words(in, rng);
        break;
    }
    feed(s);
  }
  std::printf("fed %zu seed inputs and %zu pseudo-random inputs (seed %llu)\n", in.corpus.size(),
              random_inputs, static_cast<unsigned long long>(seed));
  return 0;
}
