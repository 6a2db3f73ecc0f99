/*
 * daemon/ctl.c: the control socket: a Unix stream socket speaking JSON
 * lines. Each request is one JSON object on one line; each response is one
 * or more JSON objects, one per line (the protocol is in siplined(8)).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sd.h"

#define CTL_MAX_LINE 65536
#define CTL_MAX_BACKLOG (8u << 20) /* a client this far behind is dropped */

/*
 * Replies and events are not written one by one: each line is appended to
 * the client's out buffer, and the buffer goes out in one uv_write when the
 * loop is about to wait (a uv_prepare handle, armed while out holds bytes),
 * or at once before the client is closed. Why: at 2,400 calls/s a follower
 * gets ~30 events per call (8 of them SIP messages when it asked for
 * them); one malloc, one uv_write and one sendmsg (with its wake-up of the
 * reader) per event was among the daemon's top costs (bench/calls). Lines
 * still leave in order and before the loop blocks, so a reader sees them as
 * soon as before, only in fewer, larger writes.
 */
struct sd_ctlc {
  uv_pipe_t h;
  uv_prepare_t flush; /* running while out holds bytes */
  sd *d;
  char *in;
  size_t n;
  char *out; /* lines not yet handed to uv_write */
  size_t out_n, out_cap;
  int follow, messages, closing, handles;
  sd_ctlc *next;
};

/* One uv_write of a whole out buffer; owns the buffer. */
typedef struct {
  uv_write_t w;
  char *buf;
} ctl_wreq;

static void client_freed(uv_handle_t *h) {
  sd_ctlc *c = h->data;
  if (--c->handles > 0)
    return; /* the pipe and the prepare handle: free after both */
  free(c->in);
  free(c->out);
  free(c);
}

static void write_done(uv_write_t *req, int status) {
  (void)status;
  ctl_wreq *r = (ctl_wreq *)req;
  free(r->buf);
  free(r);
}

static void client_close(sd_ctlc *c);

/* Hands the out buffer to uv_write (which writes at once what the socket
 * takes and queues the rest). */
static void flush_out(sd_ctlc *c) {
  if (uv_is_active((uv_handle_t *)&c->flush))
    uv_prepare_stop(&c->flush);
  if (c->out_n == 0)
    return;
  ctl_wreq *r = malloc(sizeof *r);
  if (!r) {
    c->out_n = 0; /* as before: a line that found no memory is lost */
    return;
  }
  r->buf = c->out;
  uv_buf_t buf = uv_buf_init(c->out, (unsigned)c->out_n);
  c->out = NULL;
  c->out_n = c->out_cap = 0;
  if (uv_write(&r->w, (uv_stream_t *)&c->h, &buf, 1, write_done) != 0) {
    free(r->buf);
    free(r);
    client_close(c);
  }
}

static void on_flush(uv_prepare_t *p) {
  flush_out(p->data);
}

static void client_close(sd_ctlc *c) {
  if (c->closing)
    return;
  flush_out(c); /* what was replied before the close still goes out */
  c->closing = 1;
  sd *d = c->d;
  for (sd_ctlc **pp = &d->clients; *pp; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  uv_close((uv_handle_t *)&c->flush, client_freed);
  uv_close((uv_handle_t *)&c->h, client_freed);
}

void ctl_reply(sd_ctlc *c, const char *line) {
  if (c->closing)
    return;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->h) + c->out_n >
      CTL_MAX_BACKLOG) {
    c->out_n = 0; /* the client is dropped: nothing more for it */
    slog(SLOG_WARN, "control client too slow; disconnected");
    client_close(c);
    return;
  }
  size_t n = strlen(line);
  if (c->out_n + n + 1 > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_n + n + 1)
      cap *= 2;
    char *o = realloc(c->out, cap);
    if (!o)
      return;
    c->out = o;
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_n, line, n);
  c->out[c->out_n + n] = '\n';
  c->out_n += n + 1;
  if (!uv_is_active((uv_handle_t *)&c->flush))
    uv_prepare_start(&c->flush, on_flush);
}

void ctl_reply_obj(sd_ctlc *c, cJSON *o) {
  if (!o)
    return;
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (s) {
    ctl_reply(c, s);
    cJSON_free(s);
  }
}

void ctl_follow(sd *d, sd_ctlc *c, uint64_t since, int messages, int follow) {
  c->messages = messages;
  uint64_t last = since;
  for (const sj_entry *e = sj_ring_first_after(d->ring, since); e;
       e = sj_ring_after(d->ring, e)) {
    last = e->seq;
    if (e->message && !messages)
      continue;
    ctl_reply(c, e->json);
  }
  if (follow) {
    c->follow = 1;
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "ok", 1);
  cJSON_AddStringToObject(o, "cmd", "events");
  cJSON_AddBoolToObject(o, "end", 1);
  cJSON_AddNumberToObject(o, "last", (double)last);
  ctl_reply_obj(c, o);
}

void ctl_broadcast(sd *d, const sj_entry *e) {
  sd_ctlc *next;
  for (sd_ctlc *c = d->clients; c; c = next) {
    next = c->next;
    if (c->follow && (!e->message || c->messages))
      ctl_reply(c, e->json);
  }
}

static void on_line(sd_ctlc *c, char *line) {
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
    line[--n] = '\0';
  if (n == 0)
    return;
  cJSON *req = cJSON_Parse(line);
  if (!req || !cJSON_IsObject(req)) {
    cJSON_Delete(req);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 0);
    cJSON_AddStringToObject(o, "error", "not a JSON object");
    ctl_reply_obj(c, o);
    return;
  }
  sd_ctl_request(c->d, c, req);
  cJSON_Delete(req);
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  static char buf[16384];
  (void)h;
  (void)sz;
  b->base = buf;
  b->len = sizeof buf;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  sd_ctlc *c = s->data;
  if (n < 0) {
    client_close(c);
    return;
  }
  for (ssize_t i = 0; i < n && !c->closing; i++) {
    char ch = b->base[i];
    if (ch == '\n') {
      c->in[c->n] = '\0';
      c->n = 0;
      on_line(c, c->in);
      continue;
    }
    if (c->n + 1 >= CTL_MAX_LINE) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddBoolToObject(o, "ok", 0);
      cJSON_AddStringToObject(o, "error", "request line too long");
      ctl_reply_obj(c, o);
      client_close(c);
      return;
    }
    c->in[c->n++] = ch;
  }
}

static void on_conn(uv_stream_t *srv, int status) {
  sd *d = srv->data;
  if (status < 0)
    return;
  sd_ctlc *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->in = malloc(CTL_MAX_LINE);
  if (!c->in) {
    free(c);
    return;
  }
  c->d = d;
  uv_pipe_init(d->loop, &c->h, 0);
  c->h.data = c;
  uv_prepare_init(d->loop, &c->flush);
  c->flush.data = c;
  c->handles = 2;
  if (uv_accept(srv, (uv_stream_t *)&c->h) != 0) {
    uv_close((uv_handle_t *)&c->flush, client_freed);
    uv_close((uv_handle_t *)&c->h, client_freed);
    return;
  }
  c->next = d->clients;
  d->clients = c;
  uv_read_start((uv_stream_t *)&c->h, alloc_cb, on_read);
}

int ctl_open(sd *d) {
  const char *path = d->o.control;
  struct sockaddr_un sun;
  if (strlen(path) >= sizeof sun.sun_path) {
    slog(SLOG_ERROR, "control socket path too long: %s", path);
    return -1;
  }
  uv_pipe_init(d->loop, &d->ctl, 0);
  d->ctl.data = d;
  int rc = uv_pipe_bind(&d->ctl, path);
  if (rc == UV_EADDRINUSE) {
    /* a socket file left by a daemon that died: remove it if nobody
     * answers on it, else refuse to steal a live daemon's socket */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int live = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
    if (fd >= 0)
      close(fd);
    if (live) {
      slog(SLOG_ERROR, "control socket %s is in use by a running daemon", path);
      uv_close((uv_handle_t *)&d->ctl, NULL);
      return -1;
    }
    unlink(path);
    rc = uv_pipe_bind(&d->ctl, path);
  }
  if (rc == 0) {
    chmod(path, 0660);
    rc = uv_listen((uv_stream_t *)&d->ctl, 16, on_conn);
  }
  if (rc) {
    slog(SLOG_ERROR, "control socket %s: %s", path, uv_strerror(rc));
    uv_close((uv_handle_t *)&d->ctl, NULL);
    return -1;
  }
  d->ctl_open = 1;
  slog(SLOG_INFO, "control socket %s", path);
  return 0;
}

void ctl_close(sd *d) {
  while (d->clients)
    client_close(d->clients);
  if (d->ctl_open) {
    uv_close((uv_handle_t *)&d->ctl, NULL);
    unlink(d->o.control);
    d->ctl_open = 0;
  }
}
