/*
 * tools/sipline-sim/sim_check.c: the scenario's "expect" entries, checked
 * against the kept timeline (--check).
 *
 * An entry matches timeline lines by their keys ("match"), optionally after
 * a reference line ("after", "after_nth") and within a window ("within"),
 * and then asks for a count, an absence, or the time of the nth match
 * (absolute "t", or "delta"/"delta_min"/"delta_max" from the reference).
 * Times compare to the millisecond.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static int json_eq(const cJSON *a, const cJSON *b) {
  if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
    return fabs(a->valuedouble - b->valuedouble) < 0.0005;
  if (cJSON_IsString(a) && cJSON_IsString(b))
    return strcmp(a->valuestring, b->valuestring) == 0;
  if (cJSON_IsBool(a) && cJSON_IsBool(b))
    return cJSON_IsTrue(a) == cJSON_IsTrue(b);
  if (cJSON_IsNull(a) && cJSON_IsNull(b))
    return 1;
  return 0;
}

static int matches(const cJSON *ev, const cJSON *pat) {
  const cJSON *k;
  cJSON_ArrayForEach(k, pat) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, k->string);
    if (!v || !json_eq(v, k))
      return 0;
  }
  return 1;
}

static double tof(const cJSON *ev) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "t");
  return cJSON_IsNumber(t) ? t->valuedouble : -1;
}

static int nth_of(const cJSON *e, const char *key) {
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, key);
  return cJSON_IsNumber(n) && n->valuedouble >= 1 ? (int)n->valuedouble : 1;
}

int sim_check(sim *s, FILE *rep) {
  if (!s->expect)
    return 0;
  cJSON **ev = sim__xcalloc(s->ntl, sizeof(cJSON *));
  for (size_t i = 0; i < s->ntl; i++)
    ev[i] = cJSON_Parse(s->tl[i]);
  int failures = 0, idx = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, s->expect) {
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(e, "match");
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(e, "after");
    const cJSON *cm = cJSON_GetObjectItemCaseSensitive(e, "comment");
    char *ptxt = cJSON_PrintUnformatted(pat);
    char what[1200];
    snprintf(what, sizeof what, "expect[%d]%s%s%s %s", idx,
             cJSON_IsString(cm) ? " (" : "",
             cJSON_IsString(cm) ? cm->valuestring : "",
             cJSON_IsString(cm) ? ")" : "", ptxt);
    free(ptxt);
    idx++;
    size_t from = 0;
    double ref_t = 0;
    if (after) {
      int want = nth_of(e, "after_nth"), seen = 0;
      size_t i;
      for (i = 0; i < s->ntl; i++)
        if (ev[i] && matches(ev[i], after) && ++seen == want)
          break;
      if (i == s->ntl) {
        char *a = cJSON_PrintUnformatted(after);
        fprintf(rep, "FAIL %s: the reference event %s (#%d) never happens\n",
                what, a, want);
        free(a);
        failures++;
        continue;
      }
      ref_t = tof(ev[i]);
      from = i + 1;
    }
    const cJSON *within = cJSON_GetObjectItemCaseSensitive(e, "within");
    double hi = cJSON_IsNumber(within) ? ref_t + within->valuedouble : 1e300;
    size_t *hits = sim__xcalloc(s->ntl + 1, sizeof(size_t));
    size_t nh = 0;
    for (size_t i = from; i < s->ntl; i++)
      if (ev[i] && matches(ev[i], pat) && tof(ev[i]) < hi - 0.0000001)
        hits[nh++] = i;
    const cJSON *absent = cJSON_GetObjectItemCaseSensitive(e, "absent");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(e, "count");
    if (cJSON_IsTrue(absent)) {
      if (nh) {
        fprintf(rep, "FAIL %s: expected none, got one at t=%.3f\n", what,
                tof(ev[hits[0]]));
        failures++;
      }
    } else if (cJSON_IsNumber(count)) {
      if ((double)nh != count->valuedouble) {
        fprintf(rep, "FAIL %s: expected %g, got %zu\n", what,
                count->valuedouble, nh);
        failures++;
      }
    } else {
      int n = nth_of(e, "nth");
      if ((size_t)n > nh) {
        fprintf(rep, "FAIL %s: match #%d never happens (%zu seen)\n", what, n,
                nh);
        failures++;
      } else {
        double t = tof(ev[hits[n - 1]]);
        const cJSON *et = cJSON_GetObjectItemCaseSensitive(e, "t");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "delta");
        const cJSON *dmin = cJSON_GetObjectItemCaseSensitive(e, "delta_min");
        const cJSON *dmax = cJSON_GetObjectItemCaseSensitive(e, "delta_max");
        if (cJSON_IsNumber(et) && fabs(t - et->valuedouble) > 0.0005) {
          fprintf(rep, "FAIL %s: expected at t=%.3f, got t=%.3f\n", what,
                  et->valuedouble, t);
          failures++;
        }
        if (cJSON_IsNumber(d) && fabs(t - (ref_t + d->valuedouble)) > 0.0005) {
          fprintf(rep,
                  "FAIL %s: expected at reference %.3f + %.3f = %.3f, "
                  "got t=%.3f\n",
                  what, ref_t, d->valuedouble, ref_t + d->valuedouble, t);
          failures++;
        }
        if (cJSON_IsNumber(dmin) && t < ref_t + dmin->valuedouble - 0.0005) {
          fprintf(rep,
                  "FAIL %s: expected no earlier than %.3f + %.3f, got "
                  "t=%.3f\n",
                  what, ref_t, dmin->valuedouble, t);
          failures++;
        }
        if (cJSON_IsNumber(dmax) && t > ref_t + dmax->valuedouble + 0.0005) {
          fprintf(rep,
                  "FAIL %s: expected no later than %.3f + %.3f, got "
                  "t=%.3f\n",
                  what, ref_t, dmax->valuedouble, t);
          failures++;
        }
      }
    }
    free(hits);
  }
  for (size_t i = 0; i < s->ntl; i++)
    cJSON_Delete(ev[i]);
  free(ev);
  return failures;
}
