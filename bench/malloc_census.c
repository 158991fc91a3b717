/* SPDX-License-Identifier: MIT
 * LD_PRELOAD census of live malloc blocks by usable size, for bench/conn_bytes.sh: what each
 * idle connection holds in the C++ heap, block by block. glibc only (malloc_usable_size). The
 * process reads it through the FFI: census_mark() takes a baseline, census_live(size) is the
 * number of blocks of that usable size allocated since and still live, census_large() the bytes
 * of live blocks of CENSUS_LARGE usable bytes or more (growing vectors) since the baseline.
 * Single-threaded use only: the counters are plain (the server under test has one thread). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stddef.h>
#include <string.h>

void* __libc_malloc(size_t);
void __libc_free(void*);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

#define CENSUS_LARGE 4096
static long live[CENSUS_LARGE], base[CENSUS_LARGE];
static long large, large_base;

static void count(void* p, long d) {
  if (p == NULL) return;
  size_t u = malloc_usable_size(p);
  if (u >= CENSUS_LARGE) large += d * (long)u;
  else live[u] += d;
}

void* malloc(size_t n) { void* p = __libc_malloc(n); count(p, 1); return p; }
void free(void* p) { count(p, -1); __libc_free(p); }
void* calloc(size_t a, size_t b) { void* p = __libc_calloc(a, b); count(p, 1); return p; }
void* realloc(void* q, size_t n) {
  count(q, -1);
  void* p = __libc_realloc(q, n);
  count(p != NULL ? p : q, 1);
  return p;
}
void* memalign(size_t a, size_t n) { void* p = __libc_memalign(a, n); count(p, 1); return p; }
void* aligned_alloc(size_t a, size_t n) { return memalign(a, n); }
int posix_memalign(void** out, size_t a, size_t n) {
  void* p = memalign(a, n);
  if (p == NULL) return 12; /* ENOMEM */
  *out = p;
  return 0;
}

void census_mark(void) { memcpy(base, live, sizeof live); large_base = large; }
long census_live(int usable) { return usable >= 0 && usable < CENSUS_LARGE ? live[usable] - base[usable] : 0; }
long census_large(void) { return large - large_base; }
