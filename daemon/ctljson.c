/* daemon/ctljson.c: see ctljson.h. */
#include "ctljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void sj_iso(int64_t wall_ms, char *out, size_t cap) {
  time_t s = (time_t)(wall_ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char b[32];
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, cap, "%s.%03dZ", b, (int)(wall_ms % 1000));
}

void sj_addr(const sipline_addr *a, char *out, size_t cap) {
  /* the engine's own spelling (RFC 5952 for IPv6), the same as the
   * events' server names */
  if (sipline_addr_format(a, out, cap) < 0 && cap)
    out[0] = '\0';
}

static void add_time(cJSON *o, sipline_tstamp now, const sj_clock *ck) {
  char iso[40];
  sj_iso(ck->wall0_ms + (int64_t)now, iso, sizeof iso);
  cJSON_AddStringToObject(o, "time", iso);
  /* t in seconds with millisecond precision, as sipline-sim prints it */
  char t[32];
  snprintf(t, sizeof t, "%llu.%03u", (unsigned long long)(now / 1000),
           (unsigned)(now % 1000));
  cJSON_AddRawToObject(o, "t", t);
}

cJSON *sj_event_new(const char *name, sipline_tstamp now, unsigned line,
                    const sj_clock *ck) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddNumberToObject(o, "seq", 0); /* set by sj_ring_push */
  add_time(o, now, ck);
  if (line)
    cJSON_AddNumberToObject(o, "line", line);
  cJSON_AddStringToObject(o, "event", name);
  return o;
}

/* Which fields each event type carries (ua.h lists them). */
enum {
  F_SERVER = 1 << 0,
  F_EXPIRES = 1 << 1,
  F_REASON = 1 << 2,
  F_RETRY = 1 << 3,
  F_FROM = 1 << 4,
  F_TO = 1 << 5,
  F_ID = 1 << 6,
  F_STATE = 1 << 7,
  F_QTYPE = 1 << 8,
  F_PRIO = 1 << 9,
  F_STATUS = 1 << 10,
  F_TEXT = 1 << 11,
};

static unsigned fields_of(sipline_event_type t, const char **text_key) {
  *text_key = "text";
  switch (t) {
  case SIPLINE_EV_REGISTERED:
    return F_SERVER | F_EXPIRES;
  case SIPLINE_EV_UNREGISTERED:
  case SIPLINE_EV_SERVER_DOWN:
  case SIPLINE_EV_SERVER_UP:
    return F_SERVER | F_REASON;
  case SIPLINE_EV_REG_FAILED:
    return F_SERVER | F_REASON | F_RETRY | F_STATUS;
  case SIPLINE_EV_FAILOVER:
  case SIPLINE_EV_FALLBACK:
    return F_FROM | F_TO | F_REASON;
  case SIPLINE_EV_CALL:
    *text_key = "target";
    return F_ID | F_STATE | F_SERVER | F_TEXT | F_STATUS | F_REASON;
  case SIPLINE_EV_CALL_SDP:
    /* state offer/answer, from local/remote, reason the carrier; the SDP
     * itself as "sdp" */
    return F_ID | F_STATE | F_FROM | F_REASON;
  case SIPLINE_EV_DNS_QUERY:
    *text_key = "name";
    return F_ID | F_QTYPE | F_TEXT;
  case SIPLINE_EV_EXECUTE:
    *text_key = "url";
    return F_TEXT | F_PRIO | F_STATE;
  case SIPLINE_EV_NOTIFY:
    *text_key = "package";
    return F_TEXT | F_STATUS | F_FROM;
  case SIPLINE_EV_AUTH_FAILED:
    return F_FROM | F_REASON | F_STATUS;
  case SIPLINE_EV_KEEPALIVE:
    return F_SERVER | F_STATE;
  case SIPLINE_EV_WARNING:
    return F_REASON | F_TEXT;
  default:
    return F_SERVER | F_FROM | F_TO | F_REASON | F_STATE | F_TEXT | F_ID |
           F_STATUS;
  }
}

cJSON *sj_event(const sipline_event *ev, const sj_clock *ck) {
  const char *t = sj_event_text(ev, ck, NULL);
  return t ? cJSON_Parse(t) : NULL;
}

/* The value of header name (case-insensitive) in the header part of p. */
static int header_value(const char *p, size_t n, const char *name,
                        const char *compact, char *out, size_t cap) {
  size_t i = 0;
  while (i < n) {
    size_t e = i;
    while (e < n && p[e] != '\n')
      e++;
    size_t len = e - i;
    if (len > 0 && p[i + len - 1] == '\r')
      len--;
    if (len == 0)
      break; /* end of headers */
    const char *colon = memchr(p + i, ':', len);
    if (colon) {
      size_t k = (size_t)(colon - (p + i));
      while (k > 0 && (p[i + k - 1] == ' ' || p[i + k - 1] == '\t'))
        k--;
      if ((k == strlen(name) && strncasecmp(p + i, name, k) == 0) ||
          (compact && k == 1 && (p[i] | 0x20) == compact[0])) {
        const char *v = colon + 1;
        const char *end = p + i + len;
        while (v < end && (*v == ' ' || *v == '\t'))
          v++;
        size_t vn = (size_t)(end - v);
        if (vn >= cap)
          vn = cap - 1;
        memcpy(out, v, vn);
        out[vn] = '\0';
        return 1;
      }
    }
    i = e + 1;
  }
  return 0;
}

cJSON *sj_message(int tx, const sipline_path *path, const uint8_t *p, size_t n,
                  sipline_tstamp now, const sj_clock *ck) {
  const char *t = sj_message_text(tx, path, p, n, now, ck, NULL);
  return t ? cJSON_Parse(t) : NULL;
}

static void add_when(cJSON *o, const char *key, sipline_tstamp t,
                     const sj_clock *ck) {
  if (t == SIPLINE_TSTAMP_NONE) {
    cJSON_AddNullToObject(o, key);
    return;
  }
  char iso[40];
  sj_iso(ck->wall0_ms + (int64_t)t, iso, sizeof iso);
  cJSON_AddStringToObject(o, key, iso);
}

cJSON *sj_line_status(const sipline_line_status *st, const sj_clock *ck,
                      sipline_tstamp now) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddNumberToObject(o, "line", st->line);
  cJSON_AddStringToObject(o, "aor", st->aor);
  cJSON_AddStringToObject(o, "state", st->state);
  cJSON_AddStringToObject(o, "current", st->current);
  cJSON_AddNumberToObject(o, "expires", st->expires);
  add_when(o, "next_refresh", st->next_refresh, ck);
  if (st->next_refresh != SIPLINE_TSTAMP_NONE && st->next_refresh >= now)
    cJSON_AddNumberToObject(o, "next_refresh_in",
                            (double)(st->next_refresh - now) / 1000.0);
  add_when(o, "fallback_at", st->fallback_at, ck);
  cJSON_AddNumberToObject(o, "calls", st->calls);
  cJSON *reg = cJSON_AddArrayToObject(o, "registered_at");
  cJSON *arr = cJSON_AddArrayToObject(o, "servers");
  unsigned ns = st->n_servers;
  if (ns > SIPLINE_MAX_SERVERS)
    ns = SIPLINE_MAX_SERVERS;
  for (unsigned i = 0; i < ns; i++) {
    const sipline_server_status *sv = &st->servers[i];
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "addr", sv->addr);
    cJSON_AddStringToObject(s, "state", sv->up ? "UP" : "DOWN");
    if (sv->since == 0 || sv->since == SIPLINE_TSTAMP_NONE)
      cJSON_AddNullToObject(s, "since");
    else
      add_when(s, "since", sv->since, ck);
    cJSON_AddBoolToObject(s, "registered", sv->registered != 0);
    if (sv->registered) {
      cJSON_AddNumberToObject(s, "expires", sv->expires);
      add_when(s, "expires_at", sv->expires_at, ck);
      cJSON_AddItemToArray(reg, cJSON_CreateString(sv->addr));
    }
    cJSON_AddItemToArray(arr, s);
  }
  return o;
}

/*
 * The lines live in one byte arena used as a FIFO (entries are evicted
 * oldest first, so their bytes are too), not in a malloc block each. Why:
 * under load the ring turns over thousands of lines a second, and
 * individually allocated lines end up spread over the whole heap, one or
 * two per page, so that after a burst the last cap lines pin tens of MB
 * that malloc_trim cannot give back (bench/notify: 47 MB RSS 20 s after
 * the load with --event-history 10000, 15 MB with 10). The arena holds
 * SJ_RING_BYTES_PER_EVENT bytes per event of cap, at most 256 MiB
 * (allocated once, touched as used); when it is full the oldest lines go
 * even before cap is reached. A line longer than the whole arena gets a malloc block.
 * SJ_RING_BYTES_PER_EVENT (ctljson.h) was 1 KiB: the tx/rx lines of a
 * fleet's start-up burst (~1 KB each) filled all 10 MB of it, ~1 KB per
 * line of a 10,000-line fleet (bench/fleet); an event line is ~200-300 B.
 */
#define SJ_RING_MAX_BYTES ((size_t)256 << 20)

struct sj_ring {
  size_t cap, head, n; /* entries[head] is the oldest */
  uint64_t next_seq;
  sj_entry *e;
  unsigned char *heap; /* per entry: 1 when its line is a malloc block */
  char *buf;           /* the arena */
  size_t bcap;
  size_t nb;    /* entries whose line is in the arena */
  size_t bhead; /* where the oldest arena line starts */
  size_t btail; /* where the newest arena line ends */
  size_t bend;  /* when wrapped: where the lines before offset 0 end */
  int wrapped;  /* live bytes are [bhead, bend) then [0, btail) */
};

sj_ring *sj_ring_new(size_t cap) {
  if (cap == 0)
    cap = 1;
  sj_ring *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->e = calloc(cap, sizeof *r->e);
  r->heap = calloc(cap, 1);
  r->bcap = cap * SJ_RING_BYTES_PER_EVENT;
  if (r->bcap > SJ_RING_MAX_BYTES)
    r->bcap = SJ_RING_MAX_BYTES;
  r->buf = malloc(r->bcap);
  if (!r->e || !r->heap || !r->buf) {
    free(r->e);
    free(r->heap);
    free(r->buf);
    free(r);
    return NULL;
  }
  r->cap = cap;
  r->next_seq = 1;
  return r;
}

/* Drops the oldest entry (and its bytes). */
static void ring_evict(sj_ring *r) {
  size_t i = r->head;
  sj_entry *e = &r->e[i];
  if (r->heap[i]) {
    free(e->json);
    r->heap[i] = 0;
  } else {
    r->bhead = (size_t)(e->json - r->buf) + strlen(e->json) + 1;
    if (r->wrapped && r->bhead >= r->bend) {
      r->bhead = 0;
      r->wrapped = 0;
    }
    if (--r->nb == 0)
      r->bhead = r->btail = 0, r->wrapped = 0;
  }
  e->json = NULL;
  r->head = (r->head + 1) % r->cap;
  r->n--;
}

/* Room for len bytes in the arena, or NULL while the oldest must go. */
static char *arena_place(sj_ring *r, size_t len) {
  if (r->nb == 0)
    r->bhead = r->btail = 0, r->wrapped = 0;
  size_t off;
  if (!r->wrapped) {
    if (r->bcap - r->btail >= len) {
      off = r->btail;
    } else if (r->bhead >= len) {
      r->bend = r->btail;
      r->wrapped = 1;
      off = 0;
    } else {
      return NULL;
    }
  } else if (r->bhead - r->btail >= len) {
    off = r->btail;
  } else {
    return NULL;
  }
  r->btail = off + len;
  r->nb++;
  return r->buf + off;
}

void sj_ring_del(sj_ring *r) {
  if (!r)
    return;
  while (r->n)
    ring_evict(r);
  free(r->e);
  free(r->heap);
  free(r->buf);
  free(r);
}

uint64_t sj_ring_next_seq(const sj_ring *r) {
  return r->next_seq;
}

/*
 * A growable byte buffer for sj_print; reused from one event to the next.
 */
typedef struct {
  char *p;
  size_t n, cap;
  int oom;
} sj_out;

static void out_put(sj_out *o, const char *s, size_t n) {
  if (o->oom)
    return;
  if (o->n + n + 1 > o->cap) {
    size_t cap = o->cap ? o->cap : 1024;
    while (cap < o->n + n + 1)
      cap *= 2;
    char *p = realloc(o->p, cap);
    if (!p) {
      o->oom = 1;
      return;
    }
    o->p = p;
    o->cap = cap;
  }
  memcpy(o->p + o->n, s, n);
  o->n += n;
  o->p[o->n] = '\0';
}

static void out_str(sj_out *o, const char *s) {
  /* cJSON's escaping: " \\ and the C0 controls; other bytes as they are */
  out_put(o, "\"", 1);
  const char *run = s;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch >= 32 && ch != '"' && ch != '\\')
      continue;
    out_put(o, run, (size_t)(s - run));
    char e[8];
    switch (ch) {
    case '"': out_put(o, "\\\"", 2); break;
    case '\\': out_put(o, "\\\\", 2); break;
    case '\b': out_put(o, "\\b", 2); break;
    case '\f': out_put(o, "\\f", 2); break;
    case '\n': out_put(o, "\\n", 2); break;
    case '\r': out_put(o, "\\r", 2); break;
    case '\t': out_put(o, "\\t", 2); break;
    default:
      snprintf(e, sizeof e, "\\u%04x", ch);
      out_put(o, e, 6);
    }
    run = s + 1;
  }
  out_put(o, run, (size_t)(s - run));
  out_put(o, "\"", 1);
}

static void out_num(sj_out *o, double d) {
  char b[32];
  int n;
  if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
    out_put(o, "null", 4);
    return;
  }
  if (d == (double)(long long)d && d > -9007199254740992.0 &&
      d < 9007199254740992.0) {
    /* integers (seq, line, id, status, cseq, size...): no printf %g and
     * no sscanf round-trip check, which cJSON does for every number */
    char t[24];
    unsigned long long u =
        d < 0 ? (unsigned long long)-(long long)d : (unsigned long long)d;
    size_t k = sizeof t;
    do {
      t[--k] = (char)('0' + u % 10);
      u /= 10;
    } while (u);
    if (d < 0)
      t[--k] = '-';
    out_put(o, t + k, sizeof t - k);
    return;
  }
  /* as cJSON: 15 digits, 17 when 15 do not read back the same */
  n = snprintf(b, sizeof b, "%1.15g", d);
  if (strtod(b, NULL) != d)
    n = snprintf(b, sizeof b, "%1.17g", d);
  out_put(o, b, (size_t)n);
}

static void out_item(sj_out *o, const cJSON *it) {
  switch (it->type & 0xFF) {
  case cJSON_False:
    out_put(o, "false", 5);
    break;
  case cJSON_True:
    out_put(o, "true", 4);
    break;
  case cJSON_NULL:
    out_put(o, "null", 4);
    break;
  case cJSON_Number:
    out_num(o, it->valuedouble);
    break;
  case cJSON_Raw:
    if (it->valuestring)
      out_put(o, it->valuestring, strlen(it->valuestring));
    break;
  case cJSON_String:
    out_str(o, it->valuestring ? it->valuestring : "");
    break;
  case cJSON_Array:
  case cJSON_Object: {
    int obj = (it->type & 0xFF) == cJSON_Object;
    out_put(o, obj ? "{" : "[", 1);
    for (const cJSON *c = it->child; c; c = c->next) {
      if (c != it->child)
        out_put(o, ",", 1);
      if (obj) {
        out_str(o, c->string ? c->string : "");
        out_put(o, ":", 1);
      }
      out_item(o, c);
    }
    out_put(o, obj ? "}" : "]", 1);
    break;
  }
  default:
    out_put(o, "null", 4);
  }
}

/*
 * cJSON_PrintUnformatted's output, without its cost: it prints every
 * number with snprintf("%1.15g") and reads it back with sscanf, and
 * grows a fresh malloc buffer per event; the daemon's events are mostly
 * integers and short strings, one per SIP message and call state (about
 * 30 per call at 2,400 calls/s in bench/calls). Returns a buffer owned by
 * this file, valid until the next call, or NULL without memory.
 */
static const char *sj_print(const cJSON *obj, size_t *len) {
  static sj_out o;
  o.n = 0;
  o.oom = 0;
  out_item(&o, obj);
  if (o.oom || !o.p)
    return NULL;
  if (o.cap > 65536) { /* a rare huge event: do not keep its buffer */
    static char *big;
    free(big);
    big = o.p;
    o.p = NULL;
    o.cap = 0;
    *len = o.n;
    return big;
  }
  *len = o.n;
  return o.p;
}

/* ---- events printed straight to text ------------------------------------
 *
 * The events of the hot path (the library's events, one per call state,
 * and a "tx"/"rx" event per SIP message) are written as JSON text directly,
 * with no cJSON tree: building one cost a malloc per field (name, value,
 * node) and was the daemon's largest user of malloc at 2,400 calls/s
 * (bench/calls, perf). sj_event() and sj_message() parse this text, so
 * there is one definition of each event's fields.
 */
static void key(sj_out *o, const char *k) {
  out_put(o, ",\"", 2);
  out_put(o, k, strlen(k));
  out_put(o, "\":", 2);
}

static void kstr(sj_out *o, const char *k, const char *v) {
  key(o, k);
  out_str(o, v);
}

static void knum(sj_out *o, const char *k, double v) {
  key(o, k);
  out_num(o, v);
}

/* {"seq":0,"time":...,"t":...,["line":n,]"event":name */
static void head(sj_out *o, const char *name, sipline_tstamp now,
                 unsigned line, const sj_clock *ck) {
  /* gmtime_r + strftime once per second, not per event */
  static int64_t last_s = INT64_MIN;
  static char date[24];
  int64_t wall = ck->wall0_ms + (int64_t)now;
  int64_t sec = wall / 1000;
  if (sec != last_s) {
    time_t ts = (time_t)sec;
    struct tm tm;
    gmtime_r(&ts, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    last_s = sec;
  }
  char b[96];
  int n = snprintf(b, sizeof b, "{\"seq\":0,\"time\":\"%s.%03dZ\",\"t\":%llu.%03u",
                   date, (int)(wall % 1000),
                   (unsigned long long)(now / 1000), (unsigned)(now % 1000));
  out_put(o, b, (size_t)n);
  if (line)
    knum(o, "line", line);
  kstr(o, "event", name);
}

static const char *done(sj_out *o, size_t *len) {
  out_put(o, "}", 1);
  if (o->oom || !o->p)
    return NULL;
  if (len)
    *len = o->n;
  return o->p;
}

static sj_out text_buf; /* sj_event_text and sj_message_text's result */

const char *sj_event_text(const sipline_event *ev, const sj_clock *ck,
                          size_t *len) {
  sj_out *o = &text_buf;
  o->n = 0;
  o->oom = 0;
  if (o->cap > 65536) { /* a long SDP grew it: do not keep that */
    free(o->p);
    o->p = NULL;
    o->cap = 0;
  }
  const char *name = sipline_event_name(ev->type);
  char fallback[24];
  if (!name || !*name) {
    snprintf(fallback, sizeof fallback, "event_%d", (int)ev->type);
    name = fallback;
  }
  head(o, name, ev->t, ev->line, ck);
  const char *tk;
  unsigned f = fields_of(ev->type, &tk);
  if (f & F_ID)
    knum(o, "id", ev->id);
  if ((f & F_SERVER) && ev->server[0])
    kstr(o, "server", ev->server);
  if ((f & F_FROM) && ev->from[0])
    kstr(o, "from", ev->from);
  if ((f & F_TO) && ev->to[0])
    kstr(o, "to", ev->to);
  if ((f & F_STATE) && ev->state[0])
    kstr(o, "state", ev->state);
  if ((f & F_REASON) && ev->reason[0])
    kstr(o, "reason", ev->reason);
  if (f & F_EXPIRES)
    knum(o, "expires", ev->expires);
  if (f & F_RETRY) {
    if (ev->retry_in == SIPLINE_TSTAMP_NONE) {
      key(o, "retry_in");
      out_put(o, "null", 4);
    } else
      knum(o, "retry_in", (double)ev->retry_in / 1000.0);
  }
  if ((f & F_STATUS) && ev->status)
    knum(o, "status", ev->status);
  if (f & F_PRIO)
    knum(o, "priority", ev->priority);
  if (f & F_QTYPE)
    kstr(o, "qtype",
         sipline_dns_qtype_name((sipline_dns_qtype)ev->qtype));
  if ((f & F_TEXT) && ev->text[0])
    kstr(o, tk, ev->text);
  if (ev->type == SIPLINE_EV_CALL && ev->expires)
    knum(o, "session_expires", ev->expires);
  if (ev->type == SIPLINE_EV_CALL && ev->retry_in != SIPLINE_TSTAMP_NONE)
    knum(o, "retry_in", (double)ev->retry_in / 1000.0);
  if (ev->type == SIPLINE_EV_CALL_SDP && ev->body && ev->body_len < 65536) {
    /* the SDP up to its first NUL, as a C string would be */
    size_t bl = strnlen((const char *)ev->body, ev->body_len);
    char *b = malloc(bl + 1);
    if (b) {
      memcpy(b, ev->body, bl);
      b[bl] = 0;
      kstr(o, "sdp", b);
      free(b);
    }
  }
  return done(o, len);
}

const char *sj_message_text(int tx, const sipline_path *path,
                            const uint8_t *p, size_t n, sipline_tstamp now,
                            const sj_clock *ck, size_t *len) {
  const char *s = (const char *)p;
  size_t e = 0;
  while (e < n && s[e] != '\r' && s[e] != '\n')
    e++;
  if (e < 8)
    return NULL; /* keep-alive CRLFs and other non-messages */
  sj_out *o = &text_buf;
  o->n = 0;
  o->oom = 0;
  head(o, tx ? "tx" : "rx", now, 0, ck);
  int is_method = 0;
  if (e > 8 && memcmp(s, "SIP/2.0 ", 8) == 0) {
    knum(o, "status", atoi(s + 8));
  } else {
    size_t k = 0;
    while (k < e && s[k] != ' ' && k < 32)
      k++;
    char m[33];
    memcpy(m, s, k);
    m[k] = '\0';
    kstr(o, "method", m);
    is_method = 1;
  }
  char a[80];
  sj_addr(&path->remote, a, sizeof a);
  kstr(o, tx ? "to" : "from", a);
  kstr(o, "transport", sipline_transport_name(path->tp));
  char v[256];
  if (header_value(s, n, "CSeq", NULL, v, sizeof v)) {
    knum(o, "cseq", strtoul(v, NULL, 10));
    const char *sp = strchr(v, ' ');
    if (sp) {
      while (*sp == ' ')
        sp++;
      if (!is_method)
        kstr(o, "cseq_method", sp);
    }
  }
  if (header_value(s, n, "Call-ID", "i", v, sizeof v))
    kstr(o, "call_id", v);
  knum(o, "size", (double)n);
  return done(o, len);
}

/* Room for one more entry of len bytes: a slot (evicting the oldest when
 * the ring is full) and its bytes in the arena (evicting until they fit),
 * or on the heap (*heap = 1) for a line longer than the whole arena. */
static char *ring_reserve(sj_ring *r, size_t len, int *heap) {
  if (r->n == r->cap)
    ring_evict(r);
  char *at = NULL;
  if (len <= r->bcap) {
    while (!(at = arena_place(r, len)) && r->n)
      ring_evict(r);
    if (!at)
      at = arena_place(r, len); /* empty now: it fits */
  }
  *heap = 0;
  if (!at && (at = malloc(len)) != NULL)
    *heap = 1;
  return at;
}

/* Files the bytes ring_reserve gave (now filled) as the newest entry. */
static const sj_entry *ring_commit(sj_ring *r, char *at, int heap,
                                   int message) {
  size_t i = (r->head + r->n) % r->cap;
  sj_entry *slot = &r->e[i];
  r->heap[i] = (unsigned char)heap;
  r->n++;
  slot->seq = r->next_seq++;
  slot->message = message;
  slot->json = at;
  return slot;
}

const sj_entry *sj_ring_push(sj_ring *r, cJSON *obj, int message) {
  if (!obj)
    return NULL;
  /* sj_event_new put "seq" first so readers see it at the start of a line */
  cJSON *seq = cJSON_GetObjectItemCaseSensitive(obj, "seq");
  if (seq)
    cJSON_SetNumberValue(seq, (double)r->next_seq);
  else
    cJSON_AddNumberToObject(obj, "seq", (double)r->next_seq);
  size_t plen = 0;
  const char *line = sj_print(obj, &plen);
  cJSON_Delete(obj);
  if (!line)
    return NULL;
  size_t len = plen + 1;
  int heap = 0;
  char *at = ring_reserve(r, len, &heap);
  if (!at)
    return NULL;
  memcpy(at, line, len);
  return ring_commit(r, at, heap, message);
}

const sj_entry *sj_ring_first_after(const sj_ring *r, uint64_t since) {
  if (r->n == 0)
    return NULL;
  uint64_t oldest = r->e[r->head].seq;
  if (since < oldest)
    return &r->e[r->head];
  uint64_t k = since - oldest + 1;
  if (k >= r->n)
    return NULL;
  return &r->e[(r->head + k) % r->cap];
}

const sj_entry *sj_ring_after(const sj_ring *r, const sj_entry *e) {
  size_t idx = (size_t)(e - r->e);
  size_t pos = (idx + r->cap - r->head) % r->cap;
  if (pos + 1 >= r->n)
    return NULL;
  return &r->e[(idx + 1) % r->cap];
}

const sj_entry *sj_ring_push_text(sj_ring *r, const char *text, size_t len,
                                  int message) {
  static const char lead[] = "{\"seq\":0";
  const size_t ll = sizeof lead - 1;
  if (!text || len < ll || memcmp(text, lead, ll) != 0)
    return NULL;
  char num[24];
  int nn = snprintf(num, sizeof num, "%llu", (unsigned long long)r->next_seq);
  size_t total = (ll - 1) + (size_t)nn + (len - ll) + 1; /* with the NUL */
  int heap = 0;
  char *at = ring_reserve(r, total, &heap);
  if (!at)
    return NULL;
  memcpy(at, lead, ll - 1);
  memcpy(at + ll - 1, num, (size_t)nn);
  memcpy(at + ll - 1 + nn, text + ll, len - ll);
  at[total - 1] = '\0';
  return ring_commit(r, at, heap, message);
}
