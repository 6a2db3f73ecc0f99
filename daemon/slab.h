/*
 * daemon/slab.h: the allocator siplined gives the core (sipline_mem):
 * small blocks in spans of one size each, outside the C library's heap.
 * Why and how: slab.c.
 */
#ifndef SD_SLAB_H
#define SD_SLAB_H

#include <stddef.h>
#include <stdint.h>

#include "sipline/base.h"

/* Blocks up to this size live in spans; larger ones go to malloc. */
#define SD_SLAB_MAX 2048
/* The size of a span, one size class each (also the unit given back). */
#define SD_SLAB_SPAN ((size_t)16 << 10)

/* Under AddressSanitizer the daemon leaves the core on malloc, so that the
 * sanitizer sees the core's blocks (sd_slab_open). */
#if defined(__SANITIZE_ADDRESS__)
#define SD_SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SD_SLAB_ASAN 1
#endif
#endif

typedef struct sd_slab sd_slab;

typedef struct sd_slab_stats {
  size_t reserved;    /* address space set aside for spans */
  size_t in_use;      /* bytes of live blocks (their class sizes) */
  size_t spans;       /* spans holding at least one block */
  size_t empty_dirty; /* empty spans whose pages may be resident */
  size_t empty_clean; /* empty spans given back (not resident) */
  uint64_t released;  /* spans given back by sd_slab_trim, ever */
  uint64_t fallback;  /* small blocks sent to malloc: reserve used up */
} sd_slab_stats;

/*
 * A slab over `reserve` bytes of address space (rounded down to spans;
 * only what is used becomes memory). NULL when the space cannot be
 * reserved.
 */
sd_slab *sd_slab_new(size_t reserve);
/* Unmaps every span: blocks still live become invalid. NULL is accepted. */
void sd_slab_del(sd_slab *s);
/* The sipline_mem over s: malloc, calloc, realloc, free. free and realloc
 * also take blocks that came from malloc (large ones, and the fallback). */
const sipline_mem *sd_slab_mem(sd_slab *s);
/* Gives back the pages of empty spans but the `keep` used most recently
 * (MADV_DONTNEED); returns the spans given back. */
size_t sd_slab_trim(sd_slab *s, size_t keep);
void sd_slab_stats_get(const sd_slab *s, sd_slab_stats *st);
/* 1 when p is a block in one of s's spans. */
int sd_slab_owns(const sd_slab *s, const void *p);

#endif
