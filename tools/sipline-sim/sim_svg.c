/*
 * tools/sipline-sim/sim_svg.c: the timeline as a picture (--svg FILE).
 *
 * The picture is drawn from the timeline itself: every line the printer
 * builds is also handed here (tx/rx too under --events-only), so it shows
 * exactly what the JSON lines say, plus the servers' scripts, which only
 * the endpoints know. Pure SVG 1.1: no script, no external resources;
 * tooltips are <title> elements.
 *
 * Layout, top to bottom: a time axis (seconds, or minutes past 20 min);
 * one band per server, coloured by what its script makes it do, with a thin
 * strip under it where a drawn line had marked it down; then per line: its
 * registrations (one row per server it registered with: where, and until
 * when; a faded tail is a binding left behind at a server the line moved
 * away from), each REGISTER sent and each answer as ticks, the failover,
 * recovery, fallback and server-down marks with their times and reasons,
 * and its calls as bars (calling, confirmed, ending). At most SVG_MAX_LINES
 * lines are drawn; a note says how many were left out.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define SVG_MAX_LINES 8
#define W 1200.0
#define LEFT 200.0
#define RIGHT 24.0
#define PW (W - LEFT - RIGHT)
#define CHAR_W 6.4 /* average width of an 11 px sans-serif character */
#define MAX_LANES 5

/* ---- collected data ------------------------------------------------------ */

typedef struct tick {
  sipline_tstamp t;
  int srv;
  int status; /* 0: the REGISTER itself */
  unsigned cseq;
  long expires; /* -1: none */
} tick;

enum mkind { M_DOWN, M_UP, M_FAILOVER, M_FALLBACK, M_UNREG, M_REGFAIL, M_WARN };

typedef struct mark {
  sipline_tstamp t;
  enum mkind kind;
  int srv, srv2; /* server (or from, to) */
  char reason[48];
  char extra[128]; /* reg_failed: retry_in; warning: its text */
  int merged;      /* said by another mark's label at the same time */
} mark;

enum rend { R_OPEN, R_EXPIRED, R_UNREG, R_LEFT };

typedef struct regseg {
  int srv;
  sipline_tstamp from, to, valid_until, last;
  uint32_t expires;
  unsigned refreshes;
  enum rend end;
  char why[64];
} regseg;

typedef struct callev {
  unsigned id;
  sipline_tstamp t;
  char state[16];
  int srv;
  char to[64];
  char reason[32];
  int status;
} callev;

typedef struct lane {
  unsigned line;
  tick *tk;
  size_t ntk, ctk;
  mark *mk;
  size_t nmk, cmk;
  regseg *rg;
  size_t nrg, crg;
  callev *ce;
  size_t nce, cce;
  int *open; /* per server: index of the registration in use, or -1 */
  size_t nopen;
} lane;

struct sim_svg {
  char **srv; /* server names: endpoints first, then others seen */
  size_t nsrv, csrv;
  size_t nendpoints;
  lane lanes[SVG_MAX_LINES];
  size_t nlanes;
  unsigned char *seen; /* one bit per line number */
  unsigned nlines_cfg;
  unsigned long lines_seen;
  sipline_tstamp last_t;
};

static void *grow(void *p, size_t *cap, size_t n, size_t sz) {
  if (n < *cap)
    return p;
  *cap = *cap ? 2 * *cap : 16;
  return sim__xrealloc(p, *cap * sz);
}

#define PUSH(arr, n, cap)                                                      \
  ((arr) = grow((arr), &(cap), (n), sizeof(*(arr))), &(arr)[(n)++])

sim_svg *sim__svg_new(const sim *s) {
  sim_svg *g = sim__xcalloc(1, sizeof(*g));
  for (size_t i = 0; i < s->nep; i++) {
    char **p = PUSH(g->srv, g->nsrv, g->csrv);
    *p = sim__xstrdup(s->ep[i].name);
  }
  g->nendpoints = g->nsrv;
  g->nlines_cfg = s->profile->n_lines;
  g->seen = sim__xcalloc(g->nlines_cfg / 8 + 1, 1);
  return g;
}

void sim__svg_free(sim_svg *g) {
  if (!g)
    return;
  for (size_t i = 0; i < g->nsrv; i++)
    free(g->srv[i]);
  free(g->srv);
  for (size_t i = 0; i < g->nlanes; i++) {
    lane *l = &g->lanes[i];
    free(l->tk);
    free(l->mk);
    free(l->rg);
    free(l->ce);
    free(l->open);
  }
  free(g->seen);
  free(g);
}

static int srv_index(sim_svg *g, const char *name) {
  if (!name || !*name)
    return -1;
  for (size_t i = 0; i < g->nsrv; i++)
    if (strcmp(g->srv[i], name) == 0)
      return (int)i;
  char **p = PUSH(g->srv, g->nsrv, g->csrv);
  *p = sim__xstrdup(name);
  return (int)g->nsrv - 1;
}

static int *open_of(lane *l, int srv) {
  while (l->nopen <= (size_t)srv) {
    l->open = sim__xrealloc(l->open, (l->nopen + 1) * sizeof(int));
    l->open[l->nopen++] = -1;
  }
  return &l->open[srv];
}

/* The lane of a line, or NULL when it is not drawn. */
static lane *lane_of(sim_svg *g, unsigned line) {
  for (size_t i = 0; i < g->nlanes; i++)
    if (g->lanes[i].line == line)
      return &g->lanes[i];
  if (line == 0 || line > g->nlines_cfg ||
      (g->seen[line / 8] & (1u << (line % 8))))
    return NULL;
  g->seen[line / 8] |= (unsigned char)(1u << (line % 8));
  g->lines_seen++;
  if (g->nlanes == SVG_MAX_LINES)
    return NULL;
  lane *l = &g->lanes[g->nlanes++];
  memset(l, 0, sizeof(*l));
  l->line = line;
  return l;
}

static const char *jstring(const cJSON *j, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *j, const char *k, double dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
  return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static sipline_tstamp ms_of(double secs) {
  return secs <= 0 ? 0 : (sipline_tstamp)llround(secs * 1000.0);
}

static void reg_close(regseg *r, sipline_tstamp t, enum rend end,
                      const char *why) {
  r->to = t;
  r->end = end;
  snprintf(r->why, sizeof r->why, "%s", why);
}

static void on_registered(lane *l, int srv, sipline_tstamp t, uint32_t ex) {
  int *o = open_of(l, srv);
  if (*o >= 0) {
    regseg *r = &l->rg[*o];
    if (r->valid_until >= t && ex > 0) { /* a refresh */
      r->valid_until = t + SIPLINE_SEC(ex);
      r->last = t;
      r->expires = ex;
      r->refreshes++;
      return;
    }
    reg_close(r, r->valid_until, R_EXPIRED, "expired");
    *o = -1;
  }
  if (ex == 0)
    return;
  regseg *r = PUSH(l->rg, l->nrg, l->crg);
  memset(r, 0, sizeof(*r));
  r->srv = srv;
  r->from = r->last = t;
  r->valid_until = t + SIPLINE_SEC(ex);
  r->expires = ex;
  r->end = R_OPEN;
  *o = (int)(r - l->rg);
}

static void on_gone(lane *l, int srv, sipline_tstamp t, enum rend end,
                    const char *why) {
  if (srv < 0)
    return;
  int *o = open_of(l, srv);
  if (*o < 0)
    return;
  regseg *r = &l->rg[*o];
  if (r->valid_until < t)
    reg_close(r, r->valid_until, R_EXPIRED, "expired");
  else
    reg_close(r, t, end, why);
  if (end == R_UNREG)
    r->valid_until = r->to; /* the binding is removed */
  *o = -1;
}

static void add_mark(lane *l, enum mkind k, sipline_tstamp t, int a, int b,
                     const char *reason) {
  mark *m = PUSH(l->mk, l->nmk, l->cmk);
  memset(m, 0, sizeof(*m));
  m->t = t;
  m->kind = k;
  m->srv = a;
  m->srv2 = b;
  snprintf(m->reason, sizeof m->reason, "%s", reason);
}

void sim__svg_line(sim *s, const char *txt) {
  sim_svg *g = s->svg;
  if (s->now > g->last_t)
    g->last_t = s->now;
  /* Lines not drawn are only counted: skip the parse when seen already. */
  const char *lp = strstr(txt, "\"line\":");
  if (!lp)
    return;
  unsigned line = (unsigned)strtoul(lp + 7, NULL, 10);
  lane *l = lane_of(g, line);
  if (!l)
    return;
  cJSON *j = cJSON_Parse(txt);
  if (!j)
    return;
  const char *ev = jstring(j, "event");
  sipline_tstamp t = ms_of(jnum(j, "t", 0));
  if (strcmp(ev, "tx") == 0 || strcmp(ev, "rx") == 0) {
    int is_tx = ev[0] == 't';
    int is_rsp = cJSON_GetObjectItemCaseSensitive(j, "status") != NULL;
    /* The line's REGISTERs and the answers to them. */
    if (strcmp(jstring(j, "method"), "REGISTER") == 0 && is_tx != is_rsp) {
      tick *k = PUSH(l->tk, l->ntk, l->ctk);
      k->t = t;
      k->srv = srv_index(g, jstring(j, is_tx ? "to" : "from"));
      k->status = is_tx ? 0 : (int)jnum(j, "status", 0);
      k->cseq = (unsigned)jnum(j, "cseq", 0);
      k->expires = (long)jnum(j, "expires", -1);
    }
  } else if (strcmp(ev, "registered") == 0) {
    on_registered(l, srv_index(g, jstring(j, "server")), t,
                  (uint32_t)jnum(j, "expires", 0));
  } else if (strcmp(ev, "unregistered") == 0) {
    int sv = srv_index(g, jstring(j, "server"));
    on_gone(l, sv, t, R_UNREG, jstring(j, "reason"));
    add_mark(l, M_UNREG, t, sv, -1, jstring(j, "reason"));
  } else if (strcmp(ev, "server_down") == 0) {
    add_mark(l, M_DOWN, t, srv_index(g, jstring(j, "server")), -1,
             jstring(j, "reason"));
  } else if (strcmp(ev, "server_up") == 0) {
    add_mark(l, M_UP, t, srv_index(g, jstring(j, "server")), -1,
             jstring(j, "reason"));
  } else if (strcmp(ev, "failover") == 0 || strcmp(ev, "fallback") == 0) {
    int fo = ev[1] == 'a' && ev[2] == 'i';
    int from = srv_index(g, jstring(j, "from"));
    int to = srv_index(g, jstring(j, "to"));
    char why[64];
    snprintf(why, sizeof why, "%s (%s)", fo ? "failover" : "fallback",
             jstring(j, "reason"));
    /* On failover the line stops using the old registration; its binding
       may stay at the server until it expires (the faded tail). On
       fallback the old one stays until it is removed (unregistered). */
    if (fo)
      on_gone(l, from, t, R_LEFT, why);
    add_mark(l, fo ? M_FAILOVER : M_FALLBACK, t, from, to,
             jstring(j, "reason"));
  } else if (strcmp(ev, "reg_failed") == 0) {
    add_mark(l, M_REGFAIL, t, srv_index(g, jstring(j, "server")), -1,
             jstring(j, "reason"));
    const cJSON *ri = cJSON_GetObjectItemCaseSensitive(j, "retry_in");
    if (cJSON_IsNumber(ri))
      snprintf(l->mk[l->nmk - 1].extra, sizeof l->mk[0].extra,
               "retry in %.3f s", ri->valuedouble);
    else
      snprintf(l->mk[l->nmk - 1].extra, sizeof l->mk[0].extra, "no retry");
  } else if (strcmp(ev, "warning") == 0) {
    add_mark(l, M_WARN, t, -1, -1, jstring(j, "reason"));
    snprintf(l->mk[l->nmk - 1].extra, sizeof l->mk[0].extra, "%s",
             jstring(j, "text"));
  } else if (strcmp(ev, "call") == 0) {
    callev *c = PUSH(l->ce, l->nce, l->cce);
    memset(c, 0, sizeof(*c));
    c->id = (unsigned)jnum(j, "id", 0);
    c->t = t;
    snprintf(c->state, sizeof c->state, "%s", jstring(j, "state"));
    c->srv = srv_index(g, jstring(j, "server"));
    snprintf(c->to, sizeof c->to, "%s", jstring(j, "to"));
    snprintf(c->reason, sizeof c->reason, "%s", jstring(j, "reason"));
    c->status = (int)jnum(j, "status", 0);
  }
  cJSON_Delete(j);
}

/* ---- drawing helpers ----------------------------------------------------- */

typedef struct pic {
  sb b;
  sipline_tstamp T; /* the right edge */
} pic;

static double X(const pic *p, sipline_tstamp t) {
  if (t > p->T)
    t = p->T;
  return LEFT + PW * (double)t / (double)p->T;
}

/* Seconds with the trailing zeros of the milliseconds dropped. */
static void fmt_s(char *out, size_t cap, sipline_tstamp ms) {
  snprintf(out, cap, "%llu.%03u", (unsigned long long)(ms / 1000),
           (unsigned)(ms % 1000));
  char *e = out + strlen(out) - 1;
  while (*e == '0')
    *e-- = 0;
  if (*e == '.')
    *e = 0;
}

static void esc(sb *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&':
      sim__sb_str(b, "&amp;");
      break;
    case '<':
      sim__sb_str(b, "&lt;");
      break;
    case '>':
      sim__sb_str(b, "&gt;");
      break;
    case '"':
      sim__sb_str(b, "&quot;");
      break;
    default:
      sim__sb_add(b, s, 1);
    }
  }
}

static void title(sb *b, const char *t) {
  sim__sb_str(b, "<title>");
  esc(b, t);
  sim__sb_str(b, "</title>");
}

static void text(sb *b, double x, double y, const char *cls, const char *anchor,
                 const char *t) {
  sim__sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\"%s%s%s>", x, y,
                 cls, anchor ? " text-anchor=\"" : "", anchor ? anchor : "",
                 anchor ? "\"" : "");
  esc(b, t);
  sim__sb_str(b, "</text>\n");
}

/* A rectangle with a tooltip. */
static void rect(sb *b, double x, double y, double w, double h,
                 const char *fill, const char *extra, const char *tip) {
  if (w < 0.6)
    w = 0.6;
  sim__sb_printf(b,
                 "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                 "fill=\"%s\"%s%s>",
                 x, y, w, h, fill, extra ? " " : "", extra ? extra : "");
  if (tip)
    title(b, tip);
  sim__sb_str(b, "</rect>\n");
}

static double text_w(const char *t) {
  return CHAR_W * (double)strlen(t);
}

static const char *srv_colour(int i) {
  static const char *pal[] = {"#1f77b4", "#9467bd", "#17becf", "#8c564b",
                              "#e377c2", "#bcbd22", "#393b79", "#7f7f7f"};
  return i < 0 ? "#999999" : pal[(size_t)i % (sizeof pal / sizeof pal[0])];
}

static const char *state_fill(sim_ep_state st) {
  return st == SIM_EP_UP        ? "#a5d6a7"
         : st == SIM_EP_FAILING ? "#ffcc80"
                                : "#ef9a9a";
}

static const char *state_word(sim_ep_state st) {
  return st == SIM_EP_UP        ? "up: answers"
         : st == SIM_EP_FAILING ? "failing: answers with errors"
                                : "down: no answer";
}

static const char *status_colour(int st) {
  if (st >= 200 && st < 300)
    return "#2e7d32";
  if (st == 401 || st == 407)
    return "#5c6bc0";
  if (st < 200)
    return "#9e9e9e";
  return "#c62828";
}

/* The time axis: ticks every "nice" step, in seconds or, past 20 minutes,
   in minutes; grid lines down to y1. */
static void axis(pic *p, double y, double y1) {
  static const sipline_tstamp steps[] = {
      100,     200,     500,      1000,     2000,     5000,    10000,   15000,
      30000,   60000,   120000,   300000,   600000,   900000,  1200000, 1800000,
      3600000, 7200000, 10800000, 21600000, 43200000, 86400000};
  sipline_tstamp step = steps[sizeof steps / sizeof steps[0] - 1];
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
    if (p->T / steps[i] <= 10) {
      step = steps[i];
      break;
    }
  int minutes = p->T > 1200000 && step >= 60000;
  sim__sb_printf(&p->b,
                 "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                 "class=\"axl\"/>\n",
                 LEFT, y, LEFT + PW, y);
  for (sipline_tstamp t = 0; t <= p->T; t += step) {
    double x = X(p, t);
    char lab[48], num[32];
    if (minutes)
      snprintf(lab, sizeof lab, "%llu min", (unsigned long long)(t / 60000));
    else {
      fmt_s(num, sizeof num, t);
      snprintf(lab, sizeof lab, "%s s", num);
    }
    sim__sb_printf(&p->b,
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "class=\"grid\"/>\n",
                   x, y, x, y1);
    text(&p->b, x, y - 4, "ax", "middle", lab);
  }
  text(&p->b, 8, y - 4, "ax", NULL, minutes ? "time (minutes)" : "time");
}

/* ---- servers ------------------------------------------------------------- */

static double draw_servers(pic *p, const sim *s, double y) {
  const sim_svg *g = s->svg;
  text(&p->b, 8, y + 12, "h", NULL, "Servers (what the scenario scripts)");
  y += 20;
  for (size_t i = 0; i < g->nsrv; i++) {
    const char *name = g->srv[i];
    char tip[256], a[32], b2[32];
    text(&p->b, 8, y + 14, "name", NULL, name);
    sim__sb_printf(&p->b,
                   "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
                   "fill=\"%s\"/>\n",
                   LEFT - 16, y + 5, srv_colour((int)i));
    if (i >= g->nendpoints) {
      snprintf(tip, sizeof tip, "%s: not in the scenario (nothing answers)",
               name);
      rect(&p->b, LEFT, y, PW, 20, "#e0e0e0", NULL, tip);
      text(&p->b, LEFT + 4, y + 14, "in", NULL, "not in the scenario");
    } else {
      const sim_endpoint *ep = &s->ep[i];
      sim_script_entry e, nx;
      /* Before its first entry a scripted server is silent. */
      sipline_tstamp from = 0;
      const char *label = "silent";
      sim_ep_state st = SIM_EP_DOWN;
      size_t k = 0;
      int have = ep->ops->script_entry(ep, 0, &e) == 0;
      if (have && e.at == 0) {
        label = e.label;
        st = e.state;
        k = 1;
      }
      char cur[64];
      snprintf(cur, sizeof cur, "%s", label);
      for (;;) {
        int more = ep->ops->script_entry(ep, k, &nx) == 0;
        sipline_tstamp to = more ? nx.at : p->T;
        if (to > p->T)
          to = p->T;
        if (to > from || (!more && from == 0)) {
          double x0 = X(p, from), x1 = X(p, to);
          fmt_s(a, sizeof a, from);
          fmt_s(b2, sizeof b2, more ? nx.at : p->T);
          snprintf(tip, sizeof tip, "%s: %s from %s s to %s s (%s)", name, cur,
                   a, b2, state_word(st));
          rect(&p->b, x0, y, x1 - x0, 20, state_fill(st), "class=\"seg\"", tip);
          if (x1 - x0 > text_w(cur) + 6)
            text(&p->b, x0 + 4, y + 14, "in", NULL, cur);
        }
        if (!more || nx.at >= p->T)
          break;
        from = nx.at;
        snprintf(cur, sizeof cur, "%s", nx.label);
        st = nx.state;
        k++;
      }
    }
    /* Where the drawn lines had marked it down (server_down .. up). */
    for (size_t li = 0; li < g->nlanes; li++) {
      const lane *l = &g->lanes[li];
      sipline_tstamp down = SIPLINE_TSTAMP_NONE;
      const char *why = "";
      for (size_t m = 0; m <= l->nmk; m++) {
        const mark *mk = m < l->nmk ? &l->mk[m] : NULL;
        if (mk && mk->srv != (int)i)
          continue;
        if (mk && mk->kind == M_DOWN && down == SIPLINE_TSTAMP_NONE) {
          down = mk->t;
          why = mk->reason;
        } else if (down != SIPLINE_TSTAMP_NONE && (!mk || mk->kind == M_UP)) {
          sipline_tstamp up = mk ? mk->t : p->T;
          fmt_s(a, sizeof a, down);
          fmt_s(b2, sizeof b2, up);
          snprintf(tip, sizeof tip,
                   "line %u marked %s down at %s s (%s) until %s s%s%s%s",
                   l->line, name, a, why, b2, mk ? " (" : " (the end)",
                   mk ? mk->reason : "", mk ? ")" : "");
          rect(&p->b, X(p, down), y + 21, X(p, up) - X(p, down), 5, "#b71c1c",
               NULL, tip);
          down = SIPLINE_TSTAMP_NONE;
        }
      }
    }
    y += 32;
  }
  return y;
}

/* ---- lines --------------------------------------------------------------- */

typedef struct label {
  double x0, x1;
  int lane;
} label;

/* Places a label in the first lane where it does not overlap; -1: none. */
static int place(label *placed, size_t n, double x0, double x1) {
  for (int ln = 0; ln < MAX_LANES; ln++) {
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++)
      if (placed[i].lane == ln && x0 < placed[i].x1 + 6 &&
          placed[i].x0 < x1 + 6)
        ok = 0;
    if (ok)
      return ln;
  }
  return -1;
}

static const char *mark_colour(enum mkind k) {
  switch (k) {
  case M_FAILOVER:
    return "#6a1b9a";
  case M_FALLBACK:
    return "#00796b";
  case M_UP:
    return "#2e7d32";
  case M_DOWN:
  case M_REGFAIL:
    return "#c62828";
  case M_WARN:
    return "#f9a825";
  default:
    return "#616161";
  }
}

static void mark_text(const sim_svg *g, const mark *m, char *out, size_t cap) {
  char ts[32];
  fmt_s(ts, sizeof ts, m->t);
  const char *a = m->srv >= 0 ? g->srv[m->srv] : "?";
  const char *b = m->srv2 >= 0 ? g->srv[m->srv2] : "?";
  switch (m->kind) {
  case M_FAILOVER:
    snprintf(out, cap, "failover %s s: %s \xe2\x86\x92 %s (%s)", ts, a, b,
             m->reason);
    break;
  case M_FALLBACK:
    snprintf(out, cap, "fallback %s s: %s \xe2\x86\x92 %s (%s)", ts, a, b,
             m->reason);
    break;
  case M_UP:
    snprintf(out, cap, "recovery %s s: %s up (%s)", ts, a, m->reason);
    break;
  case M_DOWN:
    snprintf(out, cap, "%s down %s s (%s)", a, ts, m->reason);
    break;
  case M_UNREG:
    snprintf(out, cap, "unregistered %s s from %s (%s)", ts, a, m->reason);
    break;
  case M_REGFAIL:
    snprintf(out, cap, "REGISTER to %s failed %s s (%s), %s", a, ts, m->reason,
             m->extra);
    break;
  case M_WARN:
    snprintf(out, cap, "warning %s s (%s): %s", ts, m->reason, m->extra);
    break;
  }
}

/* A server_down said by a failover from it at the same time, or a
   server_up by a fallback to it, needs no label of its own. */
static void merge_marks(lane *l) {
  for (size_t i = 0; i < l->nmk; i++) {
    mark *m = &l->mk[i];
    for (size_t k = 0; k < l->nmk; k++) {
      const mark *o = &l->mk[k];
      if (o->t != m->t)
        continue;
      if ((m->kind == M_DOWN && o->kind == M_FAILOVER && o->srv == m->srv) ||
          (m->kind == M_UP && o->kind == M_FALLBACK && o->srv2 == m->srv))
        m->merged = 1;
    }
  }
}

static double draw_line(pic *p, const sim *s, lane *l, double y) {
  sim_svg *g = s->svg;
  char tip[512], a[32], b2[32], c[32], lab[256];
  double top = y;
  const sipline_line_cfg *cfg = sipline_profile_line(s->profile, l->line);
  if (cfg && cfg->user_id && *cfg->user_id)
    snprintf(lab, sizeof lab, "Line %u (%s)", l->line, cfg->user_id);
  else
    snprintf(lab, sizeof lab, "Line %u", l->line);
  text(&p->b, 8, y + 12, "h", NULL, lab);
  y += 18;

  /* Registrations: one row per server, in server order. */
  int rows = 0;
  for (size_t sv = 0; sv < g->nsrv; sv++) {
    int any = 0;
    for (size_t i = 0; i < l->nrg; i++)
      any |= l->rg[i].srv == (int)sv;
    if (!any)
      continue;
    snprintf(lab, sizeof lab, "registered at %s", g->srv[sv]);
    text(&p->b, LEFT - 8, y + 11, "small", "end", lab);
    for (size_t i = 0; i < l->nrg; i++) {
      regseg *r = &l->rg[i];
      if (r->srv != (int)sv)
        continue;
      sipline_tstamp to = r->end == R_OPEN ? r->valid_until : r->to;
      sipline_tstamp tail = r->valid_until;
      /* The next registration at the same server ends the tail. */
      for (size_t k = i + 1; k < l->nrg; k++)
        if (l->rg[k].srv == r->srv && l->rg[k].from < tail) {
          tail = l->rg[k].from;
          break;
        }
      fmt_s(a, sizeof a, r->from);
      fmt_s(b2, sizeof b2, r->valid_until);
      fmt_s(c, sizeof c, r->last);
      const char *how = r->end == R_OPEN      ? "still registered at the end"
                        : r->end == R_EXPIRED ? "expired"
                                              : r->why;
      char endtxt[128];
      if (r->end == R_OPEN || r->end == R_EXPIRED)
        snprintf(endtxt, sizeof endtxt, "%s", how);
      else {
        char e[32];
        fmt_s(e, sizeof e, r->to);
        snprintf(endtxt, sizeof endtxt, "ended %s s: %s", e, how);
      }
      char ref[96] = "";
      if (r->refreshes)
        snprintf(ref, sizeof ref, ", %u refresh%s, the last at %s s",
                 r->refreshes, r->refreshes == 1 ? "" : "es", c);
      snprintf(tip, sizeof tip,
               "line %u registered at %s from %s s (granted %u s%s), valid "
               "until %s s; %s",
               l->line, g->srv[sv], a, r->expires, ref, b2, endtxt);
      double x0 = X(p, r->from), x1 = X(p, to);
      rect(&p->b, x0, y + 1, x1 - x0, 13, srv_colour(r->srv), "class=\"reg\"",
           tip);
      if (r->end == R_LEFT && tail > r->to) {
        char t2[600];
        snprintf(t2, sizeof t2,
                 "binding left at %s by line %u after %s: valid there until "
                 "%s s unless removed",
                 g->srv[sv], l->line, r->why, b2);
        rect(&p->b, x1, y + 1, X(p, tail) - x1, 13, srv_colour(r->srv),
             "fill-opacity=\"0.25\" class=\"reg\"", t2);
      }
      /* The row names the server; the bar says until when. */
      if (r->end == R_OPEN || r->end == R_EXPIRED)
        snprintf(lab, sizeof lab, "until %s s", b2);
      else
        snprintf(lab, sizeof lab, "until %s s", (fmt_s(c, sizeof c, r->to), c));
      if (x1 - x0 > text_w(lab) + 8)
        text(&p->b, x0 + 4, y + 11, "inw", NULL, lab);
    }
    y += 16;
    rows++;
  }
  if (!rows) {
    text(&p->b, LEFT - 8, y + 11, "small", "end", "registration");
    text(&p->b, LEFT + 4, y + 11, "small", NULL, "never registered");
    y += 16;
  }

  /* REGISTER ticks: sent above the line, answers below. */
  text(&p->b, LEFT - 8, y + 8, "small", "end", "REGISTER sent");
  text(&p->b, LEFT - 8, y + 19, "small", "end", "answer");
  double mid = y + 11;
  sim__sb_printf(&p->b,
                 "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                 "class=\"base\"/>\n",
                 LEFT, mid, LEFT + PW, mid);
  for (size_t i = 0; i < l->ntk; i++) {
    const tick *k = &l->tk[i];
    double x = X(p, k->t);
    const char *sv = k->srv >= 0 ? g->srv[k->srv] : "?";
    fmt_s(a, sizeof a, k->t);
    char exs[32] = "";
    if (k->expires >= 0)
      snprintf(exs, sizeof exs, ", expires %ld", k->expires);
    if (k->status == 0)
      snprintf(tip, sizeof tip, "%s s: REGISTER to %s, CSeq %u%s", a, sv,
               k->cseq, exs);
    else
      snprintf(tip, sizeof tip, "%s s: %d from %s, CSeq %u%s", a, k->status, sv,
               k->cseq, exs);
    sim__sb_printf(&p->b,
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"%s\" class=\"tick\">",
                   x, k->status ? mid + 1 : mid - 9, x,
                   k->status ? mid + 9 : mid - 1,
                   k->status ? status_colour(k->status) : srv_colour(k->srv));
    title(&p->b, tip);
    sim__sb_str(&p->b, "</line>\n");
  }
  for (size_t i = 0; i < l->nmk; i++) {
    const mark *m = &l->mk[i];
    if (m->kind != M_REGFAIL)
      continue;
    double x = X(p, m->t);
    mark_text(g, m, tip, sizeof tip);
    sim__sb_printf(&p->b,
                   "<path d=\"M%.1f %.1fl6 6m0 -6l-6 6\" class=\"fail\">",
                   x - 3, mid + 2);
    title(&p->b, tip);
    sim__sb_str(&p->b, "</path>\n");
  }
  y += 24;

  /* Marks: an icon on the time, a label in the first free lane. Failover
     and fallback are placed first; a server going down or up again and
     again is labelled once with a count (every icon has its tooltip). */
  merge_marks(l);
  text(&p->b, LEFT - 8, y + 11, "small", "end", "events");
  label placed[64];
  size_t np = 0;
  int lanes_used = 1;
  sb labels = {0};
  /* Failover and fallback icons last, on top of others at the same time. */
  for (size_t i = 0; i < 2 * l->nmk; i++) {
    const mark *m = &l->mk[i % l->nmk];
    int top_icon = m->kind == M_FAILOVER || m->kind == M_FALLBACK;
    if (m->kind == M_REGFAIL || top_icon != (i >= l->nmk))
      continue;
    mark_text(g, m, tip, sizeof tip);
    sim__sb_printf(&p->b, "<path d=\"M%.1f %.1fl4 7h-8z\" fill=\"%s\">",
                   X(p, m->t), y + 1, mark_colour(m->kind));
    title(&p->b, tip);
    sim__sb_str(&p->b, "</path>\n");
  }
  for (int pass = 0; pass < 3; pass++) {
    for (size_t i = 0; i < l->nmk; i++) {
      const mark *m = &l->mk[i];
      int want = pass == 0   ? m->kind == M_FAILOVER || m->kind == M_FALLBACK
                 : pass == 1 ? m->kind == M_UP
                             : m->kind == M_DOWN;
      if (!want || m->merged)
        continue;
      unsigned more = 0, earlier = 0;
      if (pass > 0)
        for (size_t k = 0; k < l->nmk; k++)
          if (k != i && l->mk[k].kind == m->kind && l->mk[k].srv == m->srv &&
              !l->mk[k].merged) {
            more++;
            earlier |= k < i;
          }
      if (earlier)
        continue;
      mark_text(g, m, tip, sizeof tip);
      if (more) {
        size_t n = strlen(tip);
        snprintf(tip + n, sizeof tip - n, ", and %u more time%s", more,
                 more == 1 ? "" : "s");
      }
      double x = X(p, m->t), w = text_w(tip);
      int end = x + w > W - 4;
      double x0 = end ? x - w : x, x1 = end ? x : x + w;
      int ln = np < 64 ? place(placed, np, x0, x1) : -1;
      if (ln < 0)
        continue;
      placed[np++] = (label){x0, x1, ln};
      if (ln + 1 > lanes_used)
        lanes_used = ln + 1;
      const char *col = mark_colour(m->kind);
      double ty = y + 20 + 13.0 * ln;
      sim__sb_printf(&labels,
                     "<text x=\"%.1f\" y=\"%.1f\" class=\"mk\" "
                     "fill=\"%s\"%s>",
                     x + (end ? -2 : 2), ty, col,
                     end ? " text-anchor=\"end\"" : "");
      esc(&labels, tip);
      sim__sb_str(&labels, "</text>\n");
      if (pass < 2)
        sim__sb_printf(&labels,
                       "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                       "y2=\"%.1f\" stroke=\"%s\" class=\"vl\"/>\n",
                       x, top + 18, x, ty - 9, col);
    }
  }
  if (labels.p)
    sim__sb_str(&p->b, labels.p);
  free(labels.p);
  y += 12 + 13.0 * lanes_used + 4;

  /* Calls: one bar each, coloured by state; lanes when they overlap. */
  if (l->nce) {
    text(&p->b, LEFT - 8, y + 11, "small", "end", "calls");
    double lane_end[MAX_LANES] = {0};
    int clanes = 1;
    for (size_t i = 0; i < l->nce; i++) {
      const callev *c0 = &l->ce[i];
      int first = 1;
      for (size_t k = 0; k < i; k++)
        if (l->ce[k].id == c0->id)
          first = 0;
      if (!first)
        continue;
      /* The call's events in order; its end is "ended" or the right edge. */
      sipline_tstamp start = c0->t, stop = p->T;
      for (size_t k = i; k < l->nce; k++)
        if (l->ce[k].id == c0->id && strcmp(l->ce[k].state, "ended") == 0) {
          stop = l->ce[k].t;
          break;
        }
      int ln = 0;
      while (ln < MAX_LANES - 1 && lane_end[ln] > X(p, start))
        ln++;
      lane_end[ln] = X(p, stop) + 4;
      if (ln + 1 > clanes)
        clanes = ln + 1;
      double cy = y + 16.0 * ln;
      const callev *prev = NULL;
      for (size_t k = i; k < l->nce; k++) {
        const callev *ce = &l->ce[k];
        if (ce->id != c0->id)
          continue;
        if (prev) {
          const char *fill = strcmp(prev->state, "confirmed") == 0 ? "#43a047"
                             : strcmp(prev->state, "calling") == 0 ? "#fff59d"
                                                                   : "#bdbdbd";
          fmt_s(a, sizeof a, prev->t);
          fmt_s(b2, sizeof b2, ce->t);
          snprintf(tip, sizeof tip,
                   "call %u to %s: %s via %s from %s s to %s s%s%s%s", ce->id,
                   prev->to, prev->state,
                   prev->srv >= 0 ? g->srv[prev->srv] : "?", a, b2,
                   prev->reason[0] ? " (" : "", prev->reason,
                   prev->reason[0] ? ")" : "");
          rect(&p->b, X(p, prev->t), cy + 1, X(p, ce->t) - X(p, prev->t), 13,
               fill, "class=\"call\"", tip);
        }
        prev = ce;
        if (strcmp(ce->state, "ended") == 0)
          break;
      }
      if (prev && strcmp(prev->state, "ended") != 0) {
        fmt_s(a, sizeof a, prev->t);
        snprintf(tip, sizeof tip, "call %u to %s: %s via %s since %s s",
                 prev->id, prev->to, prev->state,
                 prev->srv >= 0 ? g->srv[prev->srv] : "?", a);
        rect(&p->b, X(p, prev->t), cy + 1, X(p, p->T) - X(p, prev->t), 13,
             strcmp(prev->state, "confirmed") == 0 ? "#43a047" : "#fff59d",
             "class=\"call\"", tip);
      }
      fmt_s(a, sizeof a, start);
      fmt_s(b2, sizeof b2, stop);
      snprintf(lab, sizeof lab, "call %u \xe2\x86\x92 %s (%s\xe2\x80\x93%s s)",
               c0->id, c0->to, a, b2);
      double x0 = X(p, start), x1 = X(p, stop);
      if (x1 - x0 > text_w(lab) + 8)
        text(&p->b, x0 + 4, cy + 11, "in", NULL, lab);
      else
        text(&p->b, x1 + 4 > W - text_w(lab) ? x0 - 4 : x1 + 4, cy + 11,
             "small", x1 + 4 > W - text_w(lab) ? "end" : NULL, lab);
    }
    y += 16.0 * clanes + 2;
  }
  sim__sb_printf(&p->b,
                 "<line x1=\"8\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                 "class=\"sep\"/>\n",
                 y + 4, W - 8, y + 4);
  return y + 10;
}

static int cmp_lane(const void *a, const void *b) {
  unsigned x = ((const lane *)a)->line, y = ((const lane *)b)->line;
  return x < y ? -1 : x > y;
}

/* ---- legend -------------------------------------------------------------- */

enum swatch { SW_BOX, SW_FADED, SW_TICK, SW_CROSS, SW_MARK };

/* One legend entry at *x: its symbol, then its words. */
static void item(sb *b, double *x, double y, enum swatch sw, const char *col,
                 const char *what) {
  switch (sw) {
  case SW_BOX:
  case SW_FADED:
    rect(b, *x, y, 14, 10, col, sw == SW_FADED ? "fill-opacity=\"0.25\"" : NULL,
         NULL);
    break;
  case SW_TICK:
    sim__sb_printf(b,
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"%s\" class=\"tick\"/>\n",
                   *x + 6, y, *x + 6, y + 10, col);
    break;
  case SW_CROSS:
    sim__sb_printf(b, "<path d=\"M%.1f %.1fl6 6m0 -6l-6 6\" class=\"fail\"/>\n",
                   *x + 3, y + 2);
    break;
  case SW_MARK:
    sim__sb_printf(b, "<path d=\"M%.1f %.1fl4 7h-8z\" fill=\"%s\"/>\n", *x + 5,
                   y + 1, col);
    break;
  }
  text(b, *x + 18, y + 9, "small", NULL, what);
  *x += 28 + text_w(what);
}

static double legend(pic *p, const sim_svg *g, double y) {
  static const struct {
    int row;
    enum swatch sw;
    const char *col, *what;
  } fixed[] = {
      {0, SW_BOX, "#a5d6a7", "server up (ok)"},
      {0, SW_BOX, "#ffcc80", "server answers errors (reply:CODE, reject-auth)"},
      {0, SW_BOX, "#ef9a9a", "server down (silent, refuse, close)"},
      {0, SW_BOX, "#b71c1c", "a line had marked it down"},
      {1, SW_FADED, "#1f77b4",
       "binding left behind after failover (until it expires)"},
      {2, SW_TICK, "#1f77b4", "REGISTER sent (server colour)"},
      {2, SW_TICK, "#2e7d32", "2xx"},
      {2, SW_TICK, "#5c6bc0", "401/407 challenge"},
      {2, SW_TICK, "#c62828", "error answer"},
      {2, SW_CROSS, "#c62828", "REGISTER failed (timeout, ...)"},
      {3, SW_MARK, "#6a1b9a", "failover"},
      {3, SW_MARK, "#00796b", "fallback"},
      {3, SW_MARK, "#2e7d32", "recovery (server up)"},
      {3, SW_MARK, "#c62828", "server down"},
      {3, SW_MARK, "#616161", "unregistered"},
      {3, SW_MARK, "#f9a825", "warning"},
      {3, SW_BOX, "#fff59d", "call: calling"},
      {3, SW_BOX, "#43a047", "confirmed"},
      {3, SW_BOX, "#bdbdbd", "ending"},
  };
  sb *b = &p->b;
  text(b, 8, y + 12, "h", NULL, "Legend");
  y += 18;
  size_t k = 0;
  for (int row = 0; row < 4; row++, y += 16) {
    double x = 8;
    if (row == 1) /* the servers' registration colours */
      for (size_t i = 0; i < g->nsrv && i < 8; i++) {
        char t[128];
        snprintf(t, sizeof t, "registered at %s", g->srv[i]);
        item(b, &x, y, SW_BOX, srv_colour((int)i), t);
      }
    for (; k < sizeof fixed / sizeof fixed[0] && fixed[k].row == row; k++)
      item(b, &x, y, fixed[k].sw, fixed[k].col, fixed[k].what);
  }
  text(b, 8, y + 9, "small", NULL,
       "Hover over any bar, tick or mark for its exact times and reasons.");
  return y + 16;
}

/* ---- the picture --------------------------------------------------------- */

int sim_svg_write(sim *s, FILE *f) {
  sim_svg *g = s->svg;
  if (!g)
    return -1;
  pic p = {.T = s->until > g->last_t ? s->until : g->last_t};
  if (p.T == 0)
    p.T = 1;
  /* Registrations still in use at the end. */
  qsort(g->lanes, g->nlanes, sizeof(lane), cmp_lane);
  for (size_t i = 0; i < g->nlanes; i++)
    for (size_t k = 0; k < g->lanes[i].nrg; k++) {
      regseg *r = &g->lanes[i].rg[k];
      if (r->end == R_OPEN && r->valid_until <= p.T)
        reg_close(r, r->valid_until, R_EXPIRED, "expired");
    }
  sb *b = &p.b;
  char ts[32], hd[512];
  const char *base = strrchr(s->path, '/');
  base = base ? base + 1 : s->path;
  fmt_s(ts, sizeof ts, p.T);
  snprintf(hd, sizeof hd, "sipline-sim: %s", base);
  text(b, 8, 20, "t", NULL, hd);
  snprintf(hd, sizeof hd,
           "%lu line%s, %zu server%s, seed %llu, %s s of virtual time "
           "(%.1f min), one-way latency %llu ms",
           g->lines_seen, g->lines_seen == 1 ? "" : "s", g->nendpoints,
           g->nendpoints == 1 ? "" : "s", (unsigned long long)s->seed, ts,
           (double)p.T / 60000.0, (unsigned long long)s->latency);
  text(b, 8, 38, "small", NULL, hd);
  double y = 66;
  size_t grid_at = b->len; /* the axis goes here once the height is known */
  y += 8;
  y = draw_servers(&p, s, y);
  y += 6;
  for (size_t i = 0; i < g->nlanes; i++)
    y = draw_line(&p, s, &g->lanes[i], y);
  if (g->lines_seen > g->nlanes) {
    snprintf(hd, sizeof hd,
             "%lu more line%s not drawn (the picture shows %zu: the first to "
             "appear); the timeline on stdout has them all.",
             g->lines_seen - g->nlanes,
             g->lines_seen - g->nlanes == 1 ? "" : "s", g->nlanes);
    text(b, 8, y + 12, "note", NULL, hd);
    y += 20;
  }
  if (!g->nlanes) {
    text(b, 8, y + 12, "note", NULL, "No line did anything.");
    y += 20;
  }
  double grid_end = y;
  y += 24;
  pic ax = {.T = p.T};
  axis(&ax, 66, grid_end);
  axis(&ax, y - 6, y - 6);
  y = legend(&p, g, y + 4);
  double h = y + 8;
  int ok =
      fprintf(
          f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
          "font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\" "
          "font-size=\"11\">\n"
          "<title>sipline-sim timeline: %s</title>\n"
          "<style>\n"
          ".t{font-size:16px;font-weight:bold}.h{font-size:13px;"
          "font-weight:bold}.name{font-size:12px}.small{font-size:10px;"
          "fill:#424242}.in{font-size:10px;fill:#212121}.inw{font-size:10px;"
          "fill:#fff}.mk{font-size:11px}.note{font-size:11px;fill:#b71c1c}"
          ".ax{font-size:10px;fill:#616161}.axl{stroke:#616161}.grid{stroke:"
          "#e0e0e0;stroke-width:1}.base{stroke:#bdbdbd}.tick{stroke-width:1.5}"
          ".fail{stroke:#c62828;stroke-width:1.5;fill:none}.vl{stroke-width:1;"
          "stroke-dasharray:3 2}.sep{stroke:#eeeeee}.seg{stroke:#fff;"
          "stroke-width:0.5}\n"
          "</style>\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
          W, h, W, h, base) > 0;
  /* Grid first (under everything), then the body. */
  ok = ok && fwrite(ax.b.p, 1, ax.b.len, f) == ax.b.len;
  ok = ok && fwrite(b->p, 1, grid_at, f) == grid_at;
  ok = ok && fwrite(b->p + grid_at, 1, b->len - grid_at, f) == b->len - grid_at;
  ok = ok && fputs("</svg>\n", f) >= 0;
  free(ax.b.p);
  free(p.b.p);
  return ok ? 0 : -1;
}
