/*
 * tools/sipline-sim/sim.h: the failover simulator's engine (SIM.md).
 *
 * A scenario (JSON) names a profile, scripted proxies, DNS records and calls.
 * The engine runs the real sipline core (sipline_top) on a virtual clock
 * against those proxies over a simulated network with a fixed one-way delay
 * (latency_ms, default 10 ms), and writes the timeline as JSON lines.
 *
 * Everything here is deterministic: the same scenario and seed always give
 * the same timeline. The engine is also used by bench/reg (memory and CPU
 * figures), so it can run without printing.
 */
#ifndef SIPLINE_SIM_H
#define SIPLINE_SIM_H

#include <stdio.h>

#include "sipline/ua.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sim sim;

typedef struct sim_opts {
  int events_only; /* leave tx/rx lines out */
  int have_seed;   /* seed overrides the scenario's */
  uint64_t seed;
  int have_until; /* until_ms overrides the scenario's */
  sipline_tstamp until_ms;
  FILE *out;                 /* timeline; NULL prints nothing */
  int keep_timeline;         /* keep the lines in memory (for --check) */
  const sipline_mem *ua_mem; /* the UA's allocator (benchmarks); may be NULL */
  int quiet_warnings;        /* do not print profile warnings on stderr */
  /* The UA's event queue (sipline_settings.max_events). 0: 8 per line,
     at least 4096, at most 2^20: one call can fail over every line at once
     (three events each), and events past the cap are dropped. */
  unsigned max_events;
  int svg; /* collect what sim_svg_write draws */
} sim_opts;

/* Figures a run collects (benchmarks, storms). */
typedef struct sim_stats {
  uint64_t msgs_to_servers;
  uint64_t msgs_to_ua;
  uint64_t registers;
  uint64_t events;
  /* Timed calls into the UA: each adds one CLOCK_MONOTONIC read (vDSO) to
   * ua_time_s, which bench_reg subtracts. */
  uint64_t ua_calls;
  double ua_time_s; /* time spent inside sipline_ua_* calls (monotonic) */
} sim_stats;

/*
 * Loads a scenario file. On failure returns 2 and writes one line
 * ("FILE: KEY: what is wrong") into err; on success 0.
 */
int sim_load(sim **out, const char *path, const sim_opts *o, char *err,
             size_t errcap);
/*
 * Loads a scenario from a JSON text (path is used for messages and for the
 * profile's relative path).
 */
int sim_load_text(sim **out, const char *path, const char *json,
                  const sim_opts *o, char *err, size_t errcap);

/*
 * Runs the scenario to its end. Returns 0, or 1 with a message in err when
 * the core failed in a way the simulation cannot go on from.
 */
int sim_run(sim *s, char *err, size_t errcap);

/*
 * Runs until virtual time `until` (ms) or the scenario's end, whichever is
 * first; can be called repeatedly with growing times (benchmarks measure in
 * between). Returns 0, 1 on a core failure.
 */
int sim_run_until(sim *s, sipline_tstamp until, char *err, size_t errcap);

/*
 * Checks the scenario's "expect" entries against the kept timeline
 * (keep_timeline). Prints one line per failure on stderr; returns the number
 * of failures (0 = all hold).
 */
int sim_check(sim *s, FILE *report);

/*
 * Writes the run's timeline as an SVG picture (needs opts.svg): servers'
 * scripted states, each line's registrations, REGISTER ticks, failover,
 * recovery and fallback marks with their reasons, and calls. 0, or -1 when
 * writing failed.
 */
int sim_svg_write(sim *s, FILE *f);

sipline_ua *sim_ua(sim *s);
/* The scenario's profile (the UA holds its own copy). */
const sipline_profile *sim_profile(const sim *s);
const sim_stats *sim_get_stats(const sim *s);
sipline_tstamp sim_now(const sim *s);
void sim_del(sim *s);

#ifdef __cplusplus
}
#endif
#endif
