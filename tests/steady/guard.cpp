#include "tests/steady/guard.h"

#include <dlfcn.h>
#include <pthread.h>
#include <spawn.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <new>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> g_armed{false};
std::atomic<uint64_t> g_heap{0}, g_processes{0}, g_dlopen{0}, g_threads{0};
std::atomic<void*> g_first_heap_caller{nullptr};

inline void heap_call(void* caller) {
  if (!g_armed.load(std::memory_order_relaxed)) return;
  if (g_heap.fetch_add(1, std::memory_order_relaxed) == 0) g_first_heap_caller = caller;
}

bool refuse(std::atomic<uint64_t>& counter) {
  if (!g_armed.load()) return false;
  counter.fetch_add(1);
  errno = EPERM;
  return true;
}

template <typename Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}
}  // namespace

namespace pk::steady {
void guard_arm() { g_armed = true; }
void guard_disarm() { g_armed = false; }
Violations guard_violations() {
  return {g_heap.load(), g_processes.load(), g_dlopen.load(), g_threads.load(), g_first_heap_caller.load()};
}
}  // namespace pk::steady

// ---- the heap (glibc lets a program replace the whole malloc family)
extern "C" {
void* malloc(size_t n) {
  heap_call(__builtin_return_address(0));
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  heap_call(__builtin_return_address(0));
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  heap_call(__builtin_return_address(0));
  return __libc_realloc(p, n);
}
void* memalign(size_t a, size_t n) {
  heap_call(__builtin_return_address(0));
  return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) {
  heap_call(__builtin_return_address(0));
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) {
  heap_call(__builtin_return_address(0));
  void* p = __libc_memalign(a, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t n) {
  heap_call(__builtin_return_address(0));
  return __libc_memalign(static_cast<size_t>(sysconf(_SC_PAGESIZE)), n);
}
void free(void* p) {
  if (p != nullptr) heap_call(__builtin_return_address(0));
  __libc_free(p);
}

// ---- processes, dlopen, threads
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
int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* at,
                char* const argv[], char* const envp[]) {
  if (refuse(g_processes)) return EPERM;
  return next<decltype(&::posix_spawn)>("posix_spawn")(pid, path, fa, at, argv, envp);
}
int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* at,
                 char* const argv[], char* const envp[]) {
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
  return next<int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)>("pthread_create")(t, attr, fn, arg);
}
}  // extern "C"

// ---- C++ allocation goes through the replaced malloc/free above.
void* operator new(size_t n) {
  if (void* p = malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return malloc(n ? n : 1); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return malloc(n ? n : 1); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
