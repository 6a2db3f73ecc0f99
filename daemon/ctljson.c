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
  const char *name = sipline_event_name(ev->type);
  char fallback[24];
  if (!name || !*name) {
    snprintf(fallback, sizeof fallback, "event_%d", (int)ev->type);
    name = fallback;
  }
  cJSON *o = sj_event_new(name, ev->t, ev->line, ck);
  if (!o)
    return NULL;
  const char *tk;
  unsigned f = fields_of(ev->type, &tk);
  if (f & F_ID)
    cJSON_AddNumberToObject(o, "id", ev->id);
  if ((f & F_SERVER) && ev->server[0])
    cJSON_AddStringToObject(o, "server", ev->server);
  if ((f & F_FROM) && ev->from[0])
    cJSON_AddStringToObject(o, "from", ev->from);
  if ((f & F_TO) && ev->to[0])
    cJSON_AddStringToObject(o, "to", ev->to);
  if ((f & F_STATE) && ev->state[0])
    cJSON_AddStringToObject(o, "state", ev->state);
  if ((f & F_REASON) && ev->reason[0])
    cJSON_AddStringToObject(o, "reason", ev->reason);
  if (f & F_EXPIRES)
    cJSON_AddNumberToObject(o, "expires", ev->expires);
  if (f & F_RETRY) {
    if (ev->retry_in == SIPLINE_TSTAMP_NONE)
      cJSON_AddNullToObject(o, "retry_in");
    else
      cJSON_AddNumberToObject(o, "retry_in", (double)ev->retry_in / 1000.0);
  }
  if ((f & F_STATUS) && ev->status)
    cJSON_AddNumberToObject(o, "status", ev->status);
  if (f & F_PRIO)
    cJSON_AddNumberToObject(o, "priority", ev->priority);
  if (f & F_QTYPE)
    cJSON_AddStringToObject(o, "qtype", sipline_dns_qtype_name((sipline_dns_qtype)ev->qtype));
  if ((f & F_TEXT) && ev->text[0])
    cJSON_AddStringToObject(o, tk, ev->text);
  if (ev->type == SIPLINE_EV_CALL && ev->expires)
    cJSON_AddNumberToObject(o, "session_expires", ev->expires);
  if (ev->type == SIPLINE_EV_CALL && ev->retry_in != SIPLINE_TSTAMP_NONE)
    cJSON_AddNumberToObject(o, "retry_in", (double)ev->retry_in / 1000.0);
  if (ev->type == SIPLINE_EV_CALL_SDP && ev->body && ev->body_len < 65536) {
    char *b = malloc(ev->body_len + 1);
    if (b) {
      memcpy(b, ev->body, ev->body_len);
      b[ev->body_len] = 0;
      cJSON_AddStringToObject(o, "sdp", b);
      free(b);
    }
  }
  return o;
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
  const char *s = (const char *)p;
  size_t e = 0;
  while (e < n && s[e] != '\r' && s[e] != '\n')
    e++;
  if (e < 8)
    return NULL; /* keep-alive CRLFs and other non-messages */
  cJSON *o = sj_event_new(tx ? "tx" : "rx", now, 0, ck);
  if (!o)
    return NULL;
  if (e > 8 && memcmp(s, "SIP/2.0 ", 8) == 0) {
    int status = atoi(s + 8);
    cJSON_AddNumberToObject(o, "status", status);
  } else {
    size_t k = 0;
    while (k < e && s[k] != ' ' && k < 32)
      k++;
    char m[33];
    memcpy(m, s, k);
    m[k] = '\0';
    cJSON_AddStringToObject(o, "method", m);
  }
  char a[80];
  sj_addr(&path->remote, a, sizeof a);
  cJSON_AddStringToObject(o, tx ? "to" : "from", a);
  cJSON_AddStringToObject(o, "transport", sipline_transport_name(path->tp));
  char v[256];
  if (header_value(s, n, "CSeq", NULL, v, sizeof v)) {
    cJSON_AddNumberToObject(o, "cseq", strtoul(v, NULL, 10));
    const char *sp = strchr(v, ' ');
    if (sp) {
      while (*sp == ' ')
        sp++;
      if (!cJSON_GetObjectItem(o, "method"))
        cJSON_AddStringToObject(o, "cseq_method", sp);
    }
  }
  if (header_value(s, n, "Call-ID", "i", v, sizeof v))
    cJSON_AddStringToObject(o, "call_id", v);
  cJSON_AddNumberToObject(o, "size", (double)n);
  return o;
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

const sj_entry *sj_ring_push(sj_ring *r, cJSON *obj, int message) {
  if (!obj)
    return NULL;
  /* sj_event_new put "seq" first so readers see it at the start of a line */
  cJSON *seq = cJSON_GetObjectItemCaseSensitive(obj, "seq");
  if (seq)
    cJSON_SetNumberValue(seq, (double)r->next_seq);
  else
    cJSON_AddNumberToObject(obj, "seq", (double)r->next_seq);
  char *line = cJSON_PrintUnformatted(obj);
  cJSON_Delete(obj);
  if (!line)
    return NULL;
  if (r->n == r->cap)
    ring_evict(r);
  size_t len = strlen(line) + 1;
  char *at = NULL;
  int heap = 0;
  if (len <= r->bcap) {
    while (!(at = arena_place(r, len)) && r->n)
      ring_evict(r);
    if (!at)
      at = arena_place(r, len); /* empty now: it fits */
  }
  if (at) {
    memcpy(at, line, len);
    cJSON_free(line);
  } else {
    at = malloc(len); /* longer than the arena */
    if (!at) {
      cJSON_free(line);
      return NULL;
    }
    memcpy(at, line, len);
    cJSON_free(line);
    heap = 1;
  }
  size_t i = (r->head + r->n) % r->cap;
  sj_entry *slot = &r->e[i];
  r->heap[i] = (unsigned char)heap;
  r->n++;
  slot->seq = r->next_seq++;
  slot->message = message;
  slot->json = at;
  return slot;
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
