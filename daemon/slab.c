/*
 * daemon/slab.c: see slab.h.
 *
 * Why: a fleet's start-up burst leaves the C library's heap fragmented in
 * a way malloc_trim cannot undo. Each line, as it registers, allocates a
 * few small blocks that live as long as the line (its digest state: ~80
 * and ~96-byte blocks; its server list: ~200 bytes) in the same moments as
 * the blocks of its REGISTER transactions (~0.9 and ~1 KB each), which
 * live on for Timer K (5 s over UDP). glibc carves them all from the same
 * pages; when the transactions go, every page keeps a small block or two
 * and stays resident. bench/fleet, 10,000 lines at rest: 36 MB of heap
 * resident for 21 MB of live blocks, half of its 9,200 pages less than
 * half used, pinned by blocks of 80, 96 and 208 bytes; 4,330 B of RSS per
 * line, of which ~1,700 B were such holes. The same daemon on jemalloc
 * (which keeps one size per page run) rested at 2,765 B per line.
 *
 * How: blocks up to SD_SLAB_MAX bytes are rounded up to one of a few
 * size classes and served from 16 KiB spans that each hold one class, so a
 * page never mixes a line's 96-byte block with a transaction's 1 KB one:
 * the transactions' spans empty as a whole and go back to the system
 * (sd_slab_trim, from the daemon's trim timer), and the lines' small blocks
 * stay packed in the spans of their class. Blocks have no header (the span
 * tells the size), free lists run through the free blocks, and a span is
 * found from a block's address: spans are carved in order from one range
 * of address space reserved at start (PROT_NONE, made writable 1 MiB at a
 * time), their descriptors in a parallel array. Larger blocks, and small
 * ones once the reserve is used up, go to malloc; free tells the two
 * apart by address.
 *
 * Not thread-safe: only the loop thread runs the core.
 */
#include "slab.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SPAN_SHIFT 14
#define GROW_SPANS 64 /* made writable at a time: 1 MiB */

static const uint16_t class_size[] = {
    16,  32,  48,  64,  80,  96,  112,  128,  160,  192,  224,  256, 320,
    384, 448, 512, 640, 768, 896, 1024, 1152, 1280, 1536, 1792, 2048};
#define NCLASS (sizeof class_size / sizeof class_size[0])

enum { SP_FREE_DIRTY, SP_FREE_CLEAN, SP_PARTIAL, SP_FULL };

typedef struct span {
  struct span *next, *prev; /* in its class's partial list or an empty list */
  void *free;               /* freed blocks, linked through themselves */
  uint32_t bump;            /* bytes from the start never handed out yet */
  uint16_t live;            /* blocks in use */
  uint8_t cls;
  uint8_t state;
} span;

struct sd_slab {
  sipline_mem mem;
  char *base;            /* the reserved range: span k at base + k * SPAN */
  size_t max_spans;      /* spans that fit in it */
  size_t carved;         /* spans handed out so far, [0, carved) */
  size_t committed;      /* spans made writable, [0, committed) */
  span *meta;            /* max_spans descriptors (reserved the same way) */
  size_t meta_bytes;     /* reserved for them */
  size_t meta_ready;     /* bytes of meta made writable */
  span *partial[NCLASS]; /* spans of a class with room, most recent first */
  span *dirty, *clean;   /* empty spans (singly linked) */
  size_t n_dirty, n_clean, n_used;
  size_t in_use;
  uint64_t released, fallback;
  unsigned char cls_of[SD_SLAB_MAX / 16 + 1]; /* (n + 15) / 16 -> class */
};

static size_t page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096;
}

static size_t span_index(const sd_slab *s, const span *sp) {
  return (size_t)(sp - s->meta);
}

static char *span_addr(const sd_slab *s, const span *sp) {
  return s->base + (span_index(s, sp) << SPAN_SHIFT);
}

int sd_slab_owns(const sd_slab *s, const void *p) {
  const char *c = p;
  return s && c >= s->base && c < s->base + (s->carved << SPAN_SHIFT);
}

static unsigned cap_of(unsigned cls) {
  return (unsigned)(SD_SLAB_SPAN / class_size[cls]);
}

static void list_push(span **head, span *sp) {
  sp->prev = NULL;
  sp->next = *head;
  if (*head)
    (*head)->prev = sp;
  *head = sp;
}

static void list_unlink(span **head, span *sp) {
  if (sp->prev)
    sp->prev->next = sp->next;
  else
    *head = sp->next;
  if (sp->next)
    sp->next->prev = sp->prev;
  sp->next = sp->prev = NULL;
}

/* A new span from the reserve, or NULL when it is used up. */
static span *carve(sd_slab *s) {
  if (s->carved == s->max_spans)
    return NULL;
  if (s->carved == s->committed) {
    size_t n = s->max_spans - s->committed;
    if (n > GROW_SPANS)
      n = GROW_SPANS;
    if (mprotect(s->base + (s->committed << SPAN_SHIFT), n << SPAN_SHIFT,
                 PROT_READ | PROT_WRITE) != 0)
      return NULL;
    size_t need = (s->committed + n) * sizeof(span);
    if (need > s->meta_ready) {
      size_t pg = page_size();
      size_t to = (need + pg - 1) / pg * pg;
      if (to > s->meta_bytes)
        to = s->meta_bytes;
      if (mprotect((char *)s->meta + s->meta_ready, to - s->meta_ready,
                   PROT_READ | PROT_WRITE) != 0)
        return NULL;
      s->meta_ready = to;
    }
    s->committed += n;
  }
  return &s->meta[s->carved++];
}

/* An empty span for class cls, put at the head of its partial list. */
static span *span_get(sd_slab *s, unsigned cls) {
  span *sp = s->dirty;
  if (sp) {
    s->dirty = sp->next;
    s->n_dirty--;
  } else if ((sp = s->clean) != NULL) {
    s->clean = sp->next;
    s->n_clean--;
  } else if ((sp = carve(s)) == NULL) {
    return NULL;
  }
  sp->free = NULL;
  sp->bump = 0;
  sp->live = 0;
  sp->cls = (uint8_t)cls;
  sp->state = SP_PARTIAL;
  list_push(&s->partial[cls], sp);
  s->n_used++;
  return sp;
}

static void *slab_malloc(size_t n, void *user) {
  sd_slab *s = user;
  if (n > SD_SLAB_MAX)
    return malloc(n);
  unsigned cls = s->cls_of[(n + 15) >> 4];
  span *sp = s->partial[cls];
  if (!sp && (sp = span_get(s, cls)) == NULL) {
    s->fallback++;
    return malloc(n ? n : 1);
  }
  void *p = sp->free;
  if (p) {
    memcpy(&sp->free, p, sizeof(void *));
  } else {
    p = span_addr(s, sp) + sp->bump;
    sp->bump += class_size[cls];
  }
  if (++sp->live == cap_of(cls)) {
    list_unlink(&s->partial[cls], sp);
    sp->state = SP_FULL;
  }
  s->in_use += class_size[cls];
  return p;
}

static void slab_free(void *p, void *user) {
  sd_slab *s = user;
  if (!p)
    return;
  if (!sd_slab_owns(s, p)) {
    free(p);
    return;
  }
  span *sp = &s->meta[(size_t)((char *)p - s->base) >> SPAN_SHIFT];
  unsigned cls = sp->cls;
  memcpy(p, &sp->free, sizeof(void *));
  sp->free = p;
  s->in_use -= class_size[cls];
  if (sp->state == SP_FULL) {
    sp->state = SP_PARTIAL;
    list_push(&s->partial[cls], sp);
  }
  if (--sp->live == 0) {
    /* empty: any class may have it; its pages go at the next trim */
    list_unlink(&s->partial[cls], sp);
    sp->state = SP_FREE_DIRTY;
    sp->next = s->dirty;
    s->dirty = sp;
    s->n_dirty++;
    s->n_used--;
  }
}

static void *slab_calloc(size_t n, size_t size, void *user) {
  if (size && n > SIZE_MAX / size)
    return NULL;
  void *p = slab_malloc(n * size, user);
  if (p)
    memset(p, 0, n * size);
  return p;
}

static void *slab_realloc(void *p, size_t n, void *user) {
  sd_slab *s = user;
  if (!p)
    return slab_malloc(n, user);
  if (!sd_slab_owns(s, p))
    return realloc(p, n); /* a malloc block stays one */
  span *sp = &s->meta[(size_t)((char *)p - s->base) >> SPAN_SHIFT];
  size_t old = class_size[sp->cls];
  if (n <= SD_SLAB_MAX && s->cls_of[(n + 15) >> 4] == sp->cls)
    return p;
  void *q = slab_malloc(n, user);
  if (!q)
    return NULL;
  memcpy(q, p, n < old ? n : old);
  slab_free(p, user);
  return q;
}

sd_slab *sd_slab_new(size_t reserve) {
  size_t max_spans = reserve >> SPAN_SHIFT;
  if (max_spans == 0)
    return NULL;
  sd_slab *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->max_spans = max_spans;
  /* PROT_NONE costs no memory and no commit charge: pages become memory
   * only when carve() opens them and a block is written there. */
  void *b = mmap(NULL, max_spans << SPAN_SHIFT, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  size_t pg = page_size();
  s->meta_bytes = (max_spans * sizeof(span) + pg - 1) / pg * pg;
  void *m = mmap(NULL, s->meta_bytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (b == MAP_FAILED || m == MAP_FAILED) {
    if (b != MAP_FAILED)
      munmap(b, max_spans << SPAN_SHIFT);
    if (m != MAP_FAILED)
      munmap(m, s->meta_bytes);
    free(s);
    return NULL;
  }
  s->base = b;
  s->meta = m;
  unsigned c = 0;
  for (size_t i = 0; i <= SD_SLAB_MAX / 16; i++) {
    while (class_size[c] < i * 16)
      c++;
    s->cls_of[i] = (unsigned char)c;
  }
  s->mem = (sipline_mem){s, slab_malloc, slab_free, slab_calloc, slab_realloc};
  return s;
}

void sd_slab_del(sd_slab *s) {
  if (!s)
    return;
  munmap(s->base, s->max_spans << SPAN_SHIFT);
  munmap(s->meta, s->meta_bytes);
  free(s);
}

const sipline_mem *sd_slab_mem(sd_slab *s) {
  return s ? &s->mem : NULL;
}

size_t sd_slab_trim(sd_slab *s, size_t keep) {
  if (!s)
    return 0;
  span **at = &s->dirty;
  for (size_t i = 0; i < keep && *at; i++)
    at = &(*at)->next;
  size_t n = 0;
  while (*at) {
    span *sp = *at;
    *at = sp->next;
    /* the pages read as zeros again when next used; nothing else of the
     * span is kept in them (the descriptor is in meta) */
    madvise(span_addr(s, sp), SD_SLAB_SPAN, MADV_DONTNEED);
    sp->state = SP_FREE_CLEAN;
    sp->next = s->clean;
    s->clean = sp;
    s->n_dirty--;
    s->n_clean++;
    n++;
  }
  s->released += n;
  return n;
}

void sd_slab_stats_get(const sd_slab *s, sd_slab_stats *st) {
  memset(st, 0, sizeof *st);
  if (!s)
    return;
  st->reserved = s->max_spans << SPAN_SHIFT;
  st->in_use = s->in_use;
  st->spans = s->n_used;
  st->empty_dirty = s->n_dirty;
  st->empty_clean = s->n_clean;
  st->released = s->released;
  st->fallback = s->fallback;
}
