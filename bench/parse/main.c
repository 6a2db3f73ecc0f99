/*
 * sipline-bench-parse: our parser and the peer C stacks installed on this
 * machine (osip2, sofia-sip, libre), in one run over the same messages with
 * the same forced fields (bench.h). Prints per stack: ns per message (median
 * of RUNS timed runs per message, averaged over the corpus, and a mixed loop
 * over all messages), malloc calls per message (from the -alloc twin of this
 * binary, which interposes malloc), and, when valgrind is installed,
 * instructions per message (callgrind, collecting only inside
 * bench_measured()), and our ratio to each.
 *
 *   sipline-bench-parse [-t SECONDS] [-r RUNS] [-n CG_ITERS] FILE...
 *   sipline-bench-parse -m check|alloc|cg [-s STACK] FILE...
 *
 * A benchmark prints; it never fails (exit 0 unless the input is unusable).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

volatile uintptr_t bench_sink;

static const bench_stack *const stacks[] = {
    &bench_sipline,
#ifdef HAVE_OSIP
    &bench_osip,
#endif
#ifdef HAVE_SOFIA
    &bench_sofia,
#endif
#ifdef HAVE_LIBRE
    &bench_libre,
#endif
};
#define NSTACKS (sizeof(stacks) / sizeof(stacks[0]))

#ifdef COUNT_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static int counting;
static unsigned long n_alloc;
void *malloc(size_t n) {
  if (counting)
    n_alloc++;
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  if (counting)
    n_alloc++;
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  if (counting)
    n_alloc++;
  return __libc_realloc(p, n);
}
void free(void *p) {
  __libc_free(p);
}
#endif

typedef struct input {
  char name[64];
  char *buf;
  size_t len;
} input;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int load(const char *path, input *in) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  in->buf = calloc(1, (size_t)n + 64);
  if (in->buf == NULL || fread(in->buf, 1, (size_t)n, fp) != (size_t)n) {
    fclose(fp);
    return -1;
  }
  fclose(fp);
  in->len = (size_t)n;
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(in->name, sizeof(in->name), "%s", b);
  char *dot = strrchr(in->name, '.');
  if (dot)
    *dot = '\0';
  return 0;
}

/* callgrind collects inside this function only (--toggle-collect). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noinline, noipa))
#else
__attribute__((noinline))
#endif
int bench_measured(const bench_stack *s, input *in, int k, long iters) {
  int bad = 0;
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < k; j++)
      bad |= s->parse(in[j].buf, in[j].len, NULL);
  return bad;
}

static double run_n(const bench_stack *s, input *in, int k, long n) {
  double t0 = now();
  if (bench_measured(s, in, k, n)) {
    fprintf(stderr, "%s: a parse failed\n", s->name);
    exit(1);
  }
  return now() - t0;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median ns per message over runs, for k messages parsed in turn. */
static double bench(const bench_stack *s, input *in, int k, double min_s,
                    int runs) {
  long n = 16;
  double t, ns[64];
  run_n(s, in, k, 200);
  while ((t = run_n(s, in, k, n)) < min_s / 4)
    n *= 2;
  n = (long)((double)n * min_s / t) + 1;
  if (runs > 64)
    runs = 64;
  for (int r = 0; r < runs; r++)
    ns[r] = run_n(s, in, k, n) * 1e9 / ((double)n * k);
  qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_d);
  return ns[runs / 2];
}

/* Compares every stack's forced fields with ours; prints differences. */
static int check(input *in, int k) {
  int diffs = 0;
  for (int j = 0; j < k; j++) {
    bench_fields ref;
    memset(&ref, 0, sizeof(ref));
    if (stacks[0]->parse(in[j].buf, in[j].len, &ref) != 0) {
      printf("check: %s failed on %s\n", stacks[0]->name, in[j].name);
      diffs++;
      continue;
    }
    for (size_t i = 1; i < NSTACKS; i++) {
      bench_fields f;
      memset(&f, 0, sizeof(f));
      if (stacks[i]->parse(in[j].buf, in[j].len, &f) != 0) {
        printf("check: %s failed on %s\n", stacks[i]->name, in[j].name);
        diffs++;
        continue;
      }
#define CMPS(x)                                                                \
  if (strcmp(ref.x, f.x) != 0) {                                               \
    printf("check: %s %s: %s=\"%s\", sipline \"%s\"\n", in[j].name,            \
           stacks[i]->name, #x, f.x, ref.x);                                   \
    diffs++;                                                                   \
  }
#define CMPN(x)                                                                \
  if (ref.x != f.x) {                                                          \
    printf("check: %s %s: %s=%ld, sipline %ld\n", in[j].name, stacks[i]->name, \
           #x, (long)f.x, (long)ref.x);                                        \
    diffs++;                                                                   \
  }
      CMPS(start)
      CMPS(ruri_host) CMPN(nvia) CMPS(via0_host) CMPN(via0_port)
          CMPS(via0_branch) CMPS(from_host) CMPS(from_tag) CMPS(to_host)
              CMPS(to_tag) CMPS(callid) CMPN(cseq) CMPS(cseq_method)
                  CMPN(ncontact) CMPS(contact_host) CMPN(clen) CMPN(body_len)
                      CMPN(body_first) CMPN(body_last)
    }
  }
  return diffs;
}

static void usage(const char *p) {
  fprintf(stderr,
          "usage: %s [-t SECONDS] [-r RUNS] [-n CG_ITERS] FILE...\n"
          "       %s -m check|alloc|cg [-s STACK] [-n ITERS] FILE...\n",
          p, p);
}

/* Runs a command and returns its first line matching prefix, or "". */
static void run_cmd(const char *cmd, const char *prefix, char *out,
                    size_t cap) {
  out[0] = '\0';
  FILE *p = popen(cmd, "r");
  if (p == NULL)
    return;
  char line[512];
  while (fgets(line, sizeof(line), p))
    if (out[0] == '\0' && strstr(line, prefix))
      snprintf(out, cap, "%s", strstr(line, prefix) + strlen(prefix));
  pclose(p);
}

int main(int argc, char **argv) {
  const char *mode = "table", *only = NULL;
  double min_s = 0.1;
  int runs = 5;
  long iters = 200;
  int opt;
  while ((opt = getopt(argc, argv, "m:s:t:r:n:h")) != -1) {
    switch (opt) {
    case 'm':
      mode = optarg;
      break;
    case 's':
      only = optarg;
      break;
    case 't':
      min_s = atof(optarg);
      break;
    case 'r':
      runs = atoi(optarg);
      break;
    case 'n':
      iters = atol(optarg);
      break;
    default:
      usage(argv[0]);
      return opt == 'h' ? 0 : 2;
    }
  }
  int k = argc - optind;
  if (k <= 0 || k > 16) {
    usage(argv[0]);
    return 2;
  }
  input in[16];
  for (int j = 0; j < k; j++)
    if (load(argv[optind + j], &in[j]) != 0)
      return 2;
  for (size_t i = 0; i < NSTACKS; i++)
    if (stacks[i]->init() != 0) {
      fprintf(stderr, "%s: init failed\n", stacks[i]->name);
      return 2;
    }

  if (strcmp(mode, "check") == 0) {
    int d = check(in, k);
    printf("check: %d difference(s)\n", d);
    return 0;
  }
  if (strcmp(mode, "cg") == 0 || strcmp(mode, "alloc") == 0) {
    for (size_t i = 0; i < NSTACKS; i++) {
      const bench_stack *s = stacks[i];
      if (only && strcmp(only, s->name) != 0)
        continue;
      bench_measured(s, in, k, 20); /* warm-up, outside the collection */
#ifdef COUNT_ALLOCS
      n_alloc = 0;
      counting = 1;
#endif
      bench_measured(s, in, k, iters);
#ifdef COUNT_ALLOCS
      counting = 0;
      printf("alloc\t%s\t%.2f\n", s->name,
             (double)n_alloc / ((double)iters * k));
#endif
    }
    return 0;
  }

  /* The table. */
  printf("corpus: %d message(s):", k);
  size_t total = 0;
  for (int j = 0; j < k; j++) {
    printf(" %s (%zu B)", in[j].name, in[j].len);
    total += in[j].len;
  }
  printf("\nstacks:");
  for (size_t i = 0; i < NSTACKS; i++)
    printf(" %s", stacks[i]->name);
  printf("\nnot measured: pjsip (no Debian package installed)");
#ifndef HAVE_OSIP
  printf(", osip2 (libosip2-dev missing)");
#endif
#ifndef HAVE_SOFIA
  printf(", sofia-sip (libsofia-sip-ua-dev missing)");
#endif
#ifndef HAVE_LIBRE
  printf(", libre (libre-dev missing)");
#endif
  printf("\n");
  int d = check(in, k);
  printf("check: the stacks %s on the forced fields%s\n",
         d ? "DISAGREE" : "agree", d ? " (see above)" : "");

  double ns[16], mix[16], allocs[16], ir[16];
  for (size_t i = 0; i < NSTACKS; i++) {
    double sum = 0;
    printf("%-10s", stacks[i]->name);
    for (int j = 0; j < k; j++) {
      double t = bench(stacks[i], &in[j], 1, min_s, runs);
      printf(" %s=%.0fns", in[j].name, t);
      sum += t;
    }
    ns[i] = sum / k;
    mix[i] = bench(stacks[i], in, k, min_s, runs);
    printf("\n");
    allocs[i] = -1;
    ir[i] = -1;
  }

  /* mallocs per message, from the counting twin of this binary */
  char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
  self[sl > 0 ? sl : 0] = '\0';
  char files[8192] = "";
  for (int j = optind; j < argc; j++) {
    strncat(files, " '", sizeof(files) - strlen(files) - 1);
    strncat(files, argv[j], sizeof(files) - strlen(files) - 1);
    strncat(files, "'", sizeof(files) - strlen(files) - 1);
  }
  for (size_t i = 0; i < NSTACKS; i++) {
    char cmd[16384], out[128];
    snprintf(cmd, sizeof(cmd),
             "'%s-alloc' -m alloc -s %s -n 100 %s 2>/dev/null", self,
             stacks[i]->name, files);
    char want[64];
    snprintf(want, sizeof(want), "alloc\t%s\t", stacks[i]->name);
    run_cmd(cmd, want, out, sizeof(out));
    if (out[0])
      allocs[i] = atof(out);
  }
  /* instructions per message, under callgrind */
  int have_vg = system("valgrind --version >/dev/null 2>&1") == 0;
  if (have_vg) {
    for (size_t i = 0; i < NSTACKS; i++) {
      char cmd[16384], out[128];
      snprintf(cmd, sizeof(cmd),
               "LD_BIND_NOW=1 valgrind --tool=callgrind "
               "--toggle-collect=bench_measured --callgrind-out-file=/dev/null "
               "'%s' -m cg -s %s -n %ld %s 2>&1",
               self, stacks[i]->name, iters, files);
      run_cmd(cmd, "Collected : ", out, sizeof(out));
      if (out[0]) {
        /* includes the 20 warm-up rounds, which run inside the function */
        ir[i] = atof(out) / ((double)(iters + 20) * k);
      }
    }
  }

  printf("\n%-10s %9s %9s %11s %9s %12s %12s\n", "stack", "ns/msg", "mix ns",
         "mallocs/msg", "Ir/msg", "ns vs ours", "Ir vs ours");
  for (size_t i = 0; i < NSTACKS; i++) {
    char a[32], r[32], rr[32], ri[32];
    if (allocs[i] >= 0)
      snprintf(a, sizeof(a), "%.1f", allocs[i]);
    else
      snprintf(a, sizeof(a), "n/a");
    if (ir[i] >= 0)
      snprintf(r, sizeof(r), "%.0f", ir[i]);
    else
      snprintf(r, sizeof(r), have_vg ? "n/a" : "no valgrind");
    snprintf(rr, sizeof(rr), "%.2fx", ns[i] / ns[0]);
    if (ir[i] > 0 && ir[0] > 0)
      snprintf(ri, sizeof(ri), "%.2fx", ir[i] / ir[0]);
    else
      snprintf(ri, sizeof(ri), "-");
    printf("%-10s %9.0f %9.0f %11s %9s %12s %12s\n", stacks[i]->name, ns[i],
           mix[i], a, r, i ? rr : "1.00x", i ? ri : "1.00x");
  }
  printf("(mean message %zu bytes; \"vs ours\" = that stack's cost divided "
         "by ours)\n",
         total / (size_t)k);
  return 0;
}
