// The one heap interposer of the tests (heap_guard.h). In a translation unit
// of its own, so the compiler never sees a replaced operator new paired with
// free() and elides or merges them.
#include "tests/support/heap_guard.h"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <new>

#include "tests/support/sanitizers.h"

namespace {

std::atomic<bool> g_armed{false};
std::atomic<bool> g_trace_first{false};
std::atomic<uint64_t> g_count{0};
std::atomic<void*> g_first_caller{nullptr};

void trace_first_call();

inline void heap_call(void* caller) {
  if (!g_armed.load(std::memory_order_relaxed)) return;
  if (g_count.fetch_add(1, std::memory_order_relaxed) == 0) {
    g_first_caller.store(caller, std::memory_order_relaxed);
    if (g_trace_first.load(std::memory_order_relaxed)) trace_first_call();
  }
}

}  // namespace

namespace pk::test::heap_guard {
void arm(bool trace_first) {
  g_count.store(0);
  g_first_caller.store(nullptr);
  g_trace_first.store(trace_first);
  g_armed.store(true);
}
void disarm() { g_armed.store(false); }
bool armed() { return g_armed.load(); }
uint64_t count() { return g_count.load(); }
void* first_caller() { return g_first_caller.load(); }
}  // namespace pk::test::heap_guard

#ifdef PK_SANITIZER_OWNS_MALLOC

// ---- Under a sanitizer, which owns malloc: its hooks see every heap call,
// operator new and delete included. The caller is deeper in the stack than
// a hook can see cheaply, so the first call prints its stack instead.
extern "C" {
// NOLINTBEGIN(bugprone-reserved-identifier): the sanitizers' interface (sanitizer/allocator_interface.h, not
// shipped by GCC)
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                              void (*free_hook)(const volatile void*));
void __sanitizer_print_stack_trace();
// NOLINTEND(bugprone-reserved-identifier)
}

namespace {
thread_local bool t_tracing = false;  // the stack printer's own allocations are not the code's

void trace_first_call() {
  if (t_tracing) return;
  t_tracing = true;
  __sanitizer_print_stack_trace();
  t_tracing = false;
}
void on_malloc(const volatile void* /*p*/, size_t /*n*/) {
  if (!t_tracing) heap_call(nullptr);
}
void on_free(const volatile void* p) {
  if (p != nullptr && !t_tracing) heap_call(nullptr);
}
[[maybe_unused]] const int g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace

bool pk::test::heap_guard::uses_sanitizer_hooks() { return true; }

#else

// ---- Without a sanitizer: glibc lets a program replace the whole malloc
// family; the replacements count and forward to glibc's own entry points.
extern "C" {
// NOLINTBEGIN(bugprone-reserved-identifier): glibc's exported allocator entry points
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
void* __libc_pvalloc(size_t size);
void __libc_free(void* p);
// NOLINTEND(bugprone-reserved-identifier)
}

namespace {
void trace_first_call() {}  // first_caller() names it

inline void* counted_malloc(size_t size, void* caller) {
  heap_call(caller);
  return __libc_malloc(size);
}
inline void counted_free(void* p, void* caller) {
  if (p != nullptr) heap_call(caller);
  __libc_free(p);
}
}  // namespace

bool pk::test::heap_guard::uses_sanitizer_hooks() { return false; }

// glibc names these parameters __size and so on (reserved identifiers).
// NOLINTBEGIN(readability-inconsistent-declaration-parameter-name)
extern "C" {
void* malloc(size_t size) noexcept { return counted_malloc(size, __builtin_return_address(0)); }
void* calloc(size_t n, size_t size) noexcept {
  heap_call(__builtin_return_address(0));
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t size) noexcept {
  heap_call(__builtin_return_address(0));
  return __libc_realloc(p, size);
}
void* memalign(size_t alignment, size_t size) noexcept {
  heap_call(__builtin_return_address(0));
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) noexcept {
  heap_call(__builtin_return_address(0));
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  heap_call(__builtin_return_address(0));
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t size) noexcept {
  heap_call(__builtin_return_address(0));
  return __libc_valloc(size);
}
void* pvalloc(size_t size) noexcept {
  heap_call(__builtin_return_address(0));
  return __libc_pvalloc(size);
}
void free(void* p) noexcept { counted_free(p, __builtin_return_address(0)); }
}  // extern "C"
// NOLINTEND(readability-inconsistent-declaration-parameter-name)

// ---- C++ allocation: counted here, so the caller kept is the code's, not
// operator new's. The aligned forms are libstdc++'s, over aligned_alloc/free.
void* operator new(size_t size) {
  if (void* p = counted_malloc(size == 0 ? 1 : size, __builtin_return_address(0))) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) {
  if (void* p = counted_malloc(size == 0 ? 1 : size, __builtin_return_address(0))) return p;
  throw std::bad_alloc();
}
void* operator new(size_t size, const std::nothrow_t& /*tag*/) noexcept {
  return counted_malloc(size == 0 ? 1 : size, __builtin_return_address(0));
}
void* operator new[](size_t size, const std::nothrow_t& /*tag*/) noexcept {
  return counted_malloc(size == 0 ? 1 : size, __builtin_return_address(0));
}
void operator delete(void* p) noexcept { counted_free(p, __builtin_return_address(0)); }
void operator delete[](void* p) noexcept { counted_free(p, __builtin_return_address(0)); }
void operator delete(void* p, size_t /*size*/) noexcept { counted_free(p, __builtin_return_address(0)); }
void operator delete[](void* p, size_t /*size*/) noexcept { counted_free(p, __builtin_return_address(0)); }

#endif
