/*
 * daemon/fetch.c: fetches xml-service ExecuteItem URLs (SPEC R21) with the
 * libcurl multi interface on the daemon's loop (curl's sockets on uv_poll,
 * its timeout on a uv_timer). Limits: connect and total timeouts, a size
 * cap, http/https only, TLS verification on. Each result becomes a "fetch"
 * event on the control stream with the Cisco object type of the document.
 */
#include <curl/curl.h>
#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sd.h"

typedef struct fsock {
  uv_poll_t h;
  curl_socket_t fd;
  struct sd_fetch *f;
} fsock;

struct sd_fetch {
  sd *d;
  CURLM *multi;
  uv_timer_t timer;
  unsigned running;
  struct xfer *list; /* transfers in progress */
};

typedef struct xfer {
  struct sd_fetch *f;
  CURL *easy;
  unsigned line;
  char url[512];
  char *body;
  size_t n, cap;
  int too_big;
  char errbuf[CURL_ERROR_SIZE];
  struct xfer *next;
} xfer;

static void unlink_xfer(struct sd_fetch *f, xfer *x) {
  for (xfer **pp = &f->list; *pp; pp = &(*pp)->next)
    if (*pp == x) {
      *pp = x->next;
      return;
    }
}

typedef struct root_ctx {
  XML_Parser p;
  char *out;
  size_t cap;
  int found;
} root_ctx;

static void XMLCALL root_start(void *ud, const XML_Char *name,
                               const XML_Char **attrs) {
  root_ctx *r = ud;
  (void)attrs;
  snprintf(r->out, r->cap, "%s", name);
  r->found = 1;
  XML_StopParser(r->p, XML_FALSE);
}

/* Entity declarations end the parse: a fetched page has no use for them. */
static void XMLCALL no_entities(void *ud, const XML_Char *name, int pe,
                                const XML_Char *v, int vn, const XML_Char *b,
                                const XML_Char *sys, const XML_Char *pub,
                                const XML_Char *notation) {
  root_ctx *r = ud;
  (void)name, (void)pe, (void)v, (void)vn, (void)b, (void)sys, (void)pub,
      (void)notation;
  XML_StopParser(r->p, XML_FALSE);
}

int fetch_xml_root(const char *p, size_t n, char *out, size_t cap) {
  root_ctx r = {XML_ParserCreate(NULL), out, cap, 0};
  if (!r.p || cap == 0)
    return -1;
  out[0] = '\0';
  XML_SetUserData(r.p, &r);
  XML_SetStartElementHandler(r.p, root_start);
  XML_SetEntityDeclHandler(r.p, no_entities);
  XML_SetParamEntityParsing(r.p, XML_PARAM_ENTITY_PARSING_NEVER);
  XML_Parse(r.p, p, (int)(n > 1 << 20 ? 1 << 20 : n), XML_TRUE);
  XML_ParserFree(r.p);
  return r.found ? 0 : -1;
}

static size_t write_cb(char *p, size_t sz, size_t nm, void *ud) {
  xfer *x = ud;
  size_t n = sz * nm;
  size_t max = x->f->d->o.fetch_max;
  if (x->n + n > max) {
    x->too_big = 1;
    return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
  }
  if (x->n + n > x->cap) {
    size_t nc = x->cap ? x->cap * 2 : 16384;
    while (nc < x->n + n)
      nc *= 2;
    if (nc > max)
      nc = max;
    char *nb = realloc(x->body, nc);
    if (!nb)
      return 0;
    x->body = nb;
    x->cap = nc;
  }
  memcpy(x->body + x->n, p, n);
  x->n += n;
  return n;
}

static void done(struct sd_fetch *f, CURL *e, CURLcode res) {
  xfer *x = NULL;
  curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
  sd *d = f->d;
  long code = 0;
  char *ctype = NULL;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ctype);
  cJSON *ev = sj_event_new("fetch", sd_now(d), x->line, &d->ck);
  cJSON_AddStringToObject(ev, "url", x->url);
  if (res == CURLE_FILESIZE_EXCEEDED)
    x->too_big = 1;
  if (res == CURLE_OK) {
    /* the transfer worked; whether the server said yes is in status */
    cJSON_AddStringToObject(ev, "result",
                            code >= 200 && code < 300 ? "ok" : "http_error");
  } else {
    cJSON_AddStringToObject(ev, "result", x->too_big ? "too_big" : "error");
    cJSON_AddStringToObject(ev, "error",
                            x->too_big     ? "size limit exceeded"
                            : x->errbuf[0] ? x->errbuf
                                           : curl_easy_strerror(res));
  }
  cJSON_AddNumberToObject(ev, "status", code);
  if (ctype)
    cJSON_AddStringToObject(ev, "content_type", ctype);
  else
    cJSON_AddNullToObject(ev, "content_type");
  cJSON_AddNumberToObject(ev, "size", (double)x->n);
  char root[128];
  if (res == CURLE_OK &&
      fetch_xml_root(x->body ? x->body : "", x->n, root, sizeof root) == 0)
    cJSON_AddStringToObject(ev, "object", root);
  else
    cJSON_AddNullToObject(ev, "object");
  unlink_xfer(f, x);
  curl_multi_remove_handle(f->multi, e);
  curl_easy_cleanup(e);
  free(x->body);
  free(x);
  f->running--;
  sd_emit(d, ev);
}

static void check_done(struct sd_fetch *f) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(f->multi, &left)))
    if (m->msg == CURLMSG_DONE)
      done(f, m->easy_handle, m->data.result);
}

static void poll_cb(uv_poll_t *h, int status, int events) {
  fsock *s = h->data;
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  int running;
  struct sd_fetch *f = s->f;
  curl_multi_socket_action(f->multi, s->fd, flags, &running);
  check_done(f);
}

static void timer_cb(uv_timer_t *t) {
  struct sd_fetch *f = t->data;
  int running;
  curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(f);
}

static int timer_fn(CURLM *m, long ms, void *ud) {
  struct sd_fetch *f = ud;
  (void)m;
  if (ms < 0)
    uv_timer_stop(&f->timer);
  else
    uv_timer_start(&f->timer, timer_cb, (uint64_t)ms, 0);
  return 0;
}

static void free_cb(uv_handle_t *h) {
  free(h->data);
}

static int socket_fn(CURL *e, curl_socket_t fd, int what, void *ud, void *sp) {
  struct sd_fetch *f = ud;
  fsock *s = sp;
  (void)e;
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      curl_multi_assign(f->multi, fd, NULL);
      uv_poll_stop(&s->h);
      uv_close((uv_handle_t *)&s->h, free_cb);
    }
    return 0;
  }
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s)
      return -1;
    s->fd = fd;
    s->f = f;
    if (uv_poll_init_socket(f->d->loop, &s->h, fd) != 0) {
      free(s);
      return -1;
    }
    s->h.data = s;
    curl_multi_assign(f->multi, fd, s);
  }
  int ev = 0;
  if (what & CURL_POLL_IN)
    ev |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    ev |= UV_WRITABLE;
  uv_poll_start(&s->h, ev, poll_cb);
  return 0;
}

int fetch_init(sd *d) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -1;
  struct sd_fetch *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  f->d = d;
  f->multi = curl_multi_init();
  if (!f->multi) {
    free(f);
    return -1;
  }
  uv_timer_init(d->loop, &f->timer);
  f->timer.data = f;
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
  d->fetch = f;
  return 0;
}

void fetch_start(sd *d, unsigned line, const char *url) {
  struct sd_fetch *f = d->fetch;
  if (!f || f->running >= 16) {
    cJSON *ev = sj_event_new("fetch", sd_now(d), line, &d->ck);
    cJSON_AddStringToObject(ev, "url", url);
    cJSON_AddStringToObject(ev, "result", "error");
    cJSON_AddStringToObject(ev, "error",
                            f ? "too many fetches at once"
                              : "fetching is not available");
    sd_emit(d, ev);
    return;
  }
  xfer *x = calloc(1, sizeof *x);
  CURL *e = curl_easy_init();
  if (!x || !e) {
    free(x);
    if (e)
      curl_easy_cleanup(e);
    return;
  }
  x->f = f;
  x->easy = e;
  x->line = line;
  snprintf(x->url, sizeof x->url, "%s", url);
  curl_easy_setopt(e, CURLOPT_URL, x->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, x);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)d->o.fetch_connect_ms);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)d->o.fetch_total_ms);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)d->o.fetch_max);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, d->o.tls_no_verify ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, d->o.tls_no_verify ? 0L : 2L);
  if (d->o.ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, d->o.ca_file);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "sipline/" SIPLINE_VERSION);
  if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
    curl_easy_cleanup(e);
    free(x);
    return;
  }
  f->running++;
  x->next = f->list;
  f->list = x;
  slog(SLOG_INFO, "line %u: fetching %s", line, x->url);
}

void fetch_close(sd *d) {
  struct sd_fetch *f = d->fetch;
  if (!f)
    return;
  d->fetch = NULL;
  /* abandon the transfers still running */
  while (f->list) {
    xfer *x = f->list;
    f->list = x->next;
    curl_multi_remove_handle(f->multi, x->easy);
    curl_easy_cleanup(x->easy);
    free(x->body);
    free(x);
  }
  curl_multi_cleanup(f->multi); /* removes sockets through socket_fn */
  uv_close((uv_handle_t *)&f->timer, free_cb);
  curl_global_cleanup();
}
