/*
 * tools/sipline-sim/main.c: the sipline-sim command (SIM.md).
 *
 *   sipline-sim [--events-only] [--seed N] [--until S] [--check]
 *               [--svg FILE] SCENARIO.json
 *
 * Exit status: 0 done (and, with --check, every "expect" entry holds);
 * 1 an expectation failed or the core failed; 2 a bad scenario, profile or
 * command line (one line on stderr naming the file, the key and the fault).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const char usage[] =
    "usage: sipline-sim [--events-only] [--seed N] [--until S] [--check]\n"
    "                   [--svg FILE] SCENARIO.json\n"
    "\n"
    "Runs the sipline core on a virtual clock against the simulated proxies\n"
    "of SCENARIO.json and prints the timeline as JSON lines on stdout.\n"
    "\n"
    "  --events-only  leave out tx/rx (and tperr, dns_answer) lines\n"
    "  --seed N       random seed (overrides the scenario's \"seed\")\n"
    "  --until S      stop at S virtual seconds (overrides \"until\")\n"
    "  --check        also check the scenario's \"expect\" entries; exit 1\n"
    "                 and name each one that does not hold (on stderr)\n"
    "  --svg FILE     also draw the timeline as an SVG picture in FILE:\n"
    "                 servers up/down, each line's registration (where,\n"
    "                 until when), REGISTER ticks, failover, recovery and\n"
    "                 fallback with reasons and times, calls (open it in a\n"
    "                 browser; hover for details; at most 8 lines drawn)\n"
    "  --help         this text\n"
    "\n"
    "Scenario keys: profile, profile_keys, line_template, servers, dns,\n"
    "calls, until, seed, latency_ms (one-way network delay, default 10),\n"
    "expect, comment. Server behaviours: ok, ok-expires:N, silent, refuse,\n"
    "close, reply:CODE[:retry-after=S][:min-expires=N], reject-auth.\n"
    "See SIM.md and examples/sim/README.md.\n"
    "\n"
    "Exit status: 0 ok; 1 an expectation failed or the core failed;\n"
    "2 invalid scenario, profile or arguments.\n";

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (!*s || *s == '-')
    return 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end)
    return 0;
  *out = v;
  return 1;
}

int main(int argc, char **argv) {
  sim_opts o = {0};
  const char *file = NULL, *svg_path = NULL;
  int check = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--events-only") == 0) {
      o.events_only = 1;
    } else if (strcmp(a, "--check") == 0) {
      check = 1;
    } else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &o.seed)) {
        fprintf(stderr, "sipline-sim: --seed: %s is not an integer >= 0\n",
                argv[i]);
        return 2;
      }
      o.have_seed = 1;
    } else if (strcmp(a, "--until") == 0 && i + 1 < argc) {
      char *end;
      double v = strtod(argv[++i], &end);
      if (*end || !(v > 0) || v > 1e8) {
        fprintf(stderr,
                "sipline-sim: --until: %s is not a number of "
                "seconds > 0\n",
                argv[i]);
        return 2;
      }
      o.have_until = 1;
      o.until_ms = (sipline_tstamp)(v * 1000.0 + 0.5);
    } else if (strcmp(a, "--svg") == 0 && i + 1 < argc) {
      svg_path = argv[++i];
      o.svg = 1;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "sipline-sim: unknown option %s (see --help)\n", a);
      return 2;
    } else if (!file) {
      file = a;
    } else {
      fprintf(stderr, "sipline-sim: one scenario only (see --help)\n");
      return 2;
    }
  }
  if (!file) {
    fputs(usage, stderr);
    return 2;
  }
  static char obuf[1 << 16];
  setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
  o.out = stdout;
  o.keep_timeline = check;
  char err[1024];
  sim *s = NULL;
  int r = sim_load(&s, file, &o, err, sizeof err);
  if (r) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  /* Opened before the run, so a path that cannot be written fails early. */
  FILE *svg = NULL;
  if (svg_path && !(svg = fopen(svg_path, "w"))) {
    fprintf(stderr, "sipline-sim: --svg: cannot write %s: %s\n", svg_path,
            strerror(errno));
    sim_del(s);
    return 2;
  }
  r = sim_run(s, err, sizeof err);
  fflush(stdout);
  if (svg) {
    /* Drawn even when the core failed: the picture shows up to where. */
    int bad = sim_svg_write(s, svg) != 0;
    bad |= fclose(svg) != 0;
    if (bad) {
      fprintf(stderr, "sipline-sim: --svg: cannot write %s\n", svg_path);
      sim_del(s);
      return 2;
    }
  }
  if (r) {
    fprintf(stderr, "sipline-sim: %s: %s\n", file, err);
    sim_del(s);
    return 1;
  }
  int bad = check ? sim_check(s, stderr) : 0;
  sim_del(s);
  return bad ? 1 : 0;
}
