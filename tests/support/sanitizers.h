// Whether this build runs under a sanitizer that owns malloc (AddressSanitizer,
// ThreadSanitizer, MemorySanitizer): glibc's heap is not the one in use, so
// mallinfo2() says nothing and malloc cannot be replaced.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PK_SANITIZER_OWNS_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define PK_SANITIZER_OWNS_MALLOC 1
#endif
#endif

namespace pk::test {
#ifdef PK_SANITIZER_OWNS_MALLOC
inline constexpr bool kSanitizerOwnsMalloc = true;
#else
inline constexpr bool kSanitizerOwnsMalloc = false;
#endif
}  // namespace pk::test
