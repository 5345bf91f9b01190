// The steady-state guard: the heap through the heap guard
// (tests/support/heap_guard.h), plus refusals of process creation, dlopen
// and new threads, which it replaces here for the whole process.
#include "tests/steady/guard.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <spawn.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tests/support/heap_guard.h"

namespace {
std::atomic<bool> g_armed{false};
std::atomic<uint64_t> g_processes{0}, g_dlopen{0}, g_threads{0};

bool refuse(std::atomic<uint64_t>& counter) {
  if (!g_armed.load()) return false;
  counter.fetch_add(1);
  errno = EPERM;
  return true;
}

// The next definition (libc's, or a sanitizer's interceptor in front of it).
template <typename Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// Whether every other thread of the process is asleep (state S or D in
// /proc/self/task/TID/stat), as the daemon's threads are when idle.
bool other_threads_asleep() {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return true;
  const pid_t self = ::gettid();
  bool asleep = true;
  while (const dirent* e = ::readdir(tasks)) {
    const long tid = std::strtol(e->d_name, nullptr, 10);
    if (tid <= 0 || tid == self) continue;
    char path[64], stat[512];
    std::snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE* f = std::fopen(path, "re");
    if (f == nullptr) continue;  // it ended
    const size_t n = std::fread(stat, 1, sizeof stat - 1, f);
    std::fclose(f);
    stat[n] = '\0';
    const char* end = std::strrchr(stat, ')');  // "tid (comm) S ...": comm may hold anything
    if (end != nullptr && end[1] == ' ' && end[2] != 'S' && end[2] != 'D') asleep = false;
  }
  ::closedir(tasks);
  return asleep;
}

// Under AddressSanitizer a thread's start allocates (the sanitizer reads the
// thread's attributes, glibc reallocs for it). A thread created just before
// the guard is armed may not have run yet on a busy machine: wait, at most
// 5 s, until every other thread has gone to sleep, so its start is behind it.
void let_new_threads_start() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!other_threads_asleep() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}
}  // namespace

namespace pk::steady {
void guard_arm() {
  if (test::heap_guard::uses_sanitizer_hooks()) let_new_threads_start();
  g_armed = true;
  // Under a sanitizer the first heap call prints its stack: its address is
  // not known there.
  test::heap_guard::arm(/*trace_first=*/true);
}
void guard_disarm() {
  test::heap_guard::disarm();
  g_armed = false;
}
Violations guard_violations() {
  Violations v{test::heap_guard::count(), g_processes.load(), g_dlopen.load(), g_threads.load(),
               test::heap_guard::first_caller()};
  // The address is where the binary was loaded this time (PIE): say where it
  // is in the file, which addr2line reads.
  Dl_info info{};
  if (v.first_heap_caller != nullptr && ::dladdr(v.first_heap_caller, &info) != 0 &&
      info.dli_fname != nullptr) {
    auto offset = static_cast<unsigned long>(static_cast<char*>(v.first_heap_caller) -
                                             static_cast<char*>(info.dli_fbase));
    std::fprintf(stderr, "steady guard: first heap call from %s+%#lx: addr2line -f -C -e %s %#lx\n",
                 info.dli_fname, offset, info.dli_fname, offset);
  }
  return v;
}
}  // namespace pk::steady

// glibc's declarations name their parameters __path and so on.
// NOLINTBEGIN(readability-inconsistent-declaration-parameter-name)
extern "C" {
pid_t fork() {
  if (refuse(g_processes)) return -1;
  return next<pid_t (*)()>("fork")();
}
pid_t vfork() {
  if (refuse(g_processes)) return -1;
  return next<pid_t (*)()>("fork")();  // vfork cannot be wrapped safely; fork is equivalent here
}
int execve(const char* path, char* const argv[], char* const envp[]) {
  if (refuse(g_processes)) return -1;
  return next<int (*)(const char*, char* const[], char* const[])>("execve")(path, argv, envp);
}
int execv(const char* path, char* const argv[]) {
  if (refuse(g_processes)) return -1;
  return next<int (*)(const char*, char* const[])>("execv")(path, argv);
}
int execvp(const char* file, char* const argv[]) {
  if (refuse(g_processes)) return -1;
  return next<int (*)(const char*, char* const[])>("execvp")(file, argv);
}
int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa,
                const posix_spawnattr_t* at, char* const argv[], char* const envp[]) {
  if (refuse(g_processes)) return EPERM;
  return next<decltype(&::posix_spawn)>("posix_spawn")(pid, path, fa, at, argv, envp);
}
int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa,
                 const posix_spawnattr_t* at, char* const argv[], char* const envp[]) {
  if (refuse(g_processes)) return EPERM;
  return next<decltype(&::posix_spawnp)>("posix_spawnp")(pid, file, fa, at, argv, envp);
}
int system(const char* command) {
  if (refuse(g_processes)) return -1;
  return next<int (*)(const char*)>("system")(command);
}
FILE* popen(const char* command, const char* mode) {
  if (refuse(g_processes)) return nullptr;
  return next<FILE* (*)(const char*, const char*)>("popen")(command, mode);
}
void* dlopen(const char* file, int mode) {
  if (refuse(g_dlopen)) return nullptr;
  return next<void* (*)(const char*, int)>("dlopen")(file, mode);
}
int pthread_create(pthread_t* t, const pthread_attr_t* attr, void* (*fn)(void*), void* arg) {
  if (refuse(g_threads)) return EPERM;
  return next<int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)>("pthread_create")(t, attr,
                                                                                                     fn, arg);
}
}  // extern "C"
// NOLINTEND(readability-inconsistent-declaration-parameter-name)
