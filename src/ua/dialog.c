/*
 * src/ua/dialog.c: RFC 3261 §12 dialogs and the engine's dialog table
 * (see dialog.h).
 */
#include <string.h>

#include "ua.h"

#define DTAB_BUCKETS 1024u /* a power of two */

static size_t hash_pl(sipline_pl s) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < s.len; i++) {
    h ^= (unsigned char)s.p[i];
    h *= 1099511628211ULL;
  }
  return (size_t)h;
}

static size_t bucket_of(const sipline__dtab *t, sipline_pl call_id) {
  return hash_pl(call_id) & (t->n_buckets - 1);
}

static int table_add(sipline_ua *ua, sipline__dialog *d) {
  sipline__dtab *t = &ua->dialogs;
  if (!t->b) {
    t->b = sipline_mem_calloc(ua->mem, DTAB_BUCKETS, sizeof *t->b);
    if (!t->b)
      return SIPLINE_ERR_NOMEM;
    t->n_buckets = DTAB_BUCKETS;
  }
  size_t i = bucket_of(t, sipline_pl_str(d->call_id));
  for (sipline__dialog *o = t->b[i]; o; o = o->next)
    if (!strcmp(o->call_id, d->call_id) && !strcmp(o->ltag, d->ltag) &&
        !strcmp(o->rtag, d->rtag))
      return SIPLINE_ERR_EXISTS;
  d->next = t->b[i];
  t->b[i] = d;
  t->n++;
  return 0;
}

static void table_remove(sipline_ua *ua, sipline__dialog *d) {
  sipline__dtab *t = &ua->dialogs;
  if (!t->b)
    return;
  size_t i = bucket_of(t, sipline_pl_str(d->call_id));
  for (sipline__dialog **pp = &t->b[i]; *pp; pp = &(*pp)->next)
    if (*pp == d) {
      *pp = d->next;
      t->n--;
      return;
    }
}

void sipline__dtab_free(sipline__dtab *t, const sipline_mem *mem) {
  /* The owners free their dialogs (module del runs first); what is left
   * here is only the bucket array. */
  sipline_mem_free(mem, t->b);
  t->b = NULL;
  t->n_buckets = 0;
  t->n = 0;
}

size_t sipline__dialog_count(const sipline_ua *ua) {
  return ua ? ua->dialogs.n : 0;
}

sipline__dialog *sipline__dialog_find(sipline_ua *ua, const sipline_msg *req) {
  sipline__dtab *t = &ua->dialogs;
  if (!t->b || !req->to.tag.len)
    return NULL;
  for (sipline__dialog *d = t->b[bucket_of(t, req->call_id)]; d; d = d->next)
    if (sipline_pl_eq(req->call_id, sipline_pl_str(d->call_id)) &&
        sipline_pl_eq(req->to.tag, sipline_pl_str(d->ltag)) &&
        sipline_pl_eq(req->from.tag, sipline_pl_str(d->rtag)))
      return d;
  return NULL;
}

/* ------------------------------------------------------------------ */

static void free_strings(sipline__dialog *d) {
  const sipline_mem *mem = d->ua->mem;
  sipline_mem_free(mem, d->call_id);
  sipline_mem_free(mem, d->ltag);
  sipline_mem_free(mem, d->rtag);
  sipline_mem_free(mem, d->ldisp);
  sipline_mem_free(mem, d->luri);
  sipline_mem_free(mem, d->rdisp);
  sipline_mem_free(mem, d->ruri);
  sipline_mem_free(mem, d->target);
  for (unsigned i = 0; i < d->n_routes; i++)
    sipline_mem_free(mem, d->routes[i]);
  d->n_routes = 0;
}

void sipline__dialog_del(sipline__dialog *d) {
  if (!d)
    return;
  table_remove(d->ua, d);
  free_strings(d);
  sipline_mem_free(d->ua->mem, d);
}

void sipline__dialog_set_rx(sipline__dialog *d, sipline__dialog_rx rx,
                            void *owner) {
  d->rx = rx;
  d->owner = owner;
}

/* The first Contact URI of msg (a copy), or NULL (*err set on NOMEM). */
static char *contact_uri(const sipline_mem *mem, const sipline_msg *m,
                         int *err) {
  const sipline_hdr *h = sipline_msg_hdr(m, SIPLINE_HDR_CONTACT, 0);
  if (!h)
    return NULL;
  sipline_pl rest = h->value;
  sipline_nameaddr na;
  if (sipline_nameaddr_next(&rest, &na) != 1 || na.star || !na.uri_raw.len)
    return NULL;
  char *s = sipline__strndup(mem, na.uri_raw.p, na.uri_raw.len);
  if (!s)
    *err = SIPLINE_ERR_NOMEM;
  return s;
}

/* Collects the Record-Route values in message order. */
static int record_routes(const sipline_msg *m, sipline_pl *rr, unsigned *n) {
  *n = 0;
  for (unsigned k = 0;; k++) {
    const sipline_hdr *h = sipline_msg_hdr(m, SIPLINE_HDR_RECORD_ROUTE, k);
    if (!h)
      return 0;
    sipline_pl rest = h->value, item;
    while (sipline_list_next(&rest, &item) == 1) {
      if (*n == SIPLINE__DIALOG_MAX_ROUTES)
        return SIPLINE_ERR_TOOBIG;
      rr[(*n)++] = sipline_pl_trim(item);
    }
  }
}

/* Replaces the route set: Record-Route of m, reversed for a UAC. */
static int take_routes(sipline__dialog *d, const sipline_msg *m, int reverse) {
  sipline_pl rr[SIPLINE__DIALOG_MAX_ROUTES];
  unsigned n;
  int e = record_routes(m, rr, &n);
  if (e)
    return e;
  char *v[SIPLINE__DIALOG_MAX_ROUTES];
  for (unsigned i = 0; i < n; i++) {
    sipline_pl r = rr[reverse ? n - 1 - i : i];
    v[i] = sipline__strndup(d->ua->mem, r.p, r.len);
    if (!v[i]) {
      while (i--)
        sipline_mem_free(d->ua->mem, v[i]);
      return SIPLINE_ERR_NOMEM;
    }
  }
  for (unsigned i = 0; i < d->n_routes; i++)
    sipline_mem_free(d->ua->mem, d->routes[i]);
  memcpy(d->routes, v, n * sizeof v[0]);
  d->n_routes = n;
  return 0;
}

int sipline__dialog_refresh_target(sipline__dialog *d, const sipline_msg *msg) {
  int err = 0;
  char *t = contact_uri(d->ua->mem, msg, &err);
  if (!t)
    return err ? err : SIPLINE_ERR_NOTFOUND;
  sipline_mem_free(d->ua->mem, d->target);
  d->target = t;
  return 0;
}

static sipline__dialog *dialog_alloc(sipline_ua *ua, unsigned line) {
  sipline__dialog *d = sipline_mem_calloc(ua->mem, 1, sizeof *d);
  if (d) {
    d->ua = ua;
    d->line = line;
  }
  return d;
}

/* Puts a finished dialog in the table, or frees it on failure. */
static int finish_new(sipline__dialog *d, int e, sipline__dialog **out) {
  if (!e)
    e = table_add(d->ua, d);
  if (e) {
    free_strings(d);
    sipline_mem_free(d->ua->mem, d);
    return e;
  }
  *out = d;
  return 0;
}

int sipline__dialog_uac(sipline_ua *ua, const sipline__dialog_uac_params *p,
                        const sipline_msg *rsp, sipline__dialog **out) {
  if (!rsp->to.tag.len)
    return SIPLINE_ERR_INVAL;
  sipline__dialog *d = dialog_alloc(ua, p->line);
  if (!d)
    return SIPLINE_ERR_NOMEM;
  const sipline_mem *mem = ua->mem;
  d->uac = 1;
  d->confirmed = rsp->status >= 200;
  d->lcseq = p->lcseq;
  d->path = *p->path;
  d->rx = p->rx;
  d->owner = p->owner;
  int e = 0;
  d->call_id = sipline__strdup(mem, p->call_id);
  d->ltag = sipline__strdup(mem, p->ltag);
  d->rtag = sipline__strndup(mem, rsp->to.tag.p, rsp->to.tag.len);
  d->ldisp = sipline__strdup(mem, p->ldisp ? p->ldisp : "");
  d->luri = sipline__strdup(mem, p->luri);
  d->rdisp = sipline__strdup(mem, "");
  d->ruri = sipline__strdup(mem, p->ruri);
  if (!d->call_id || !d->ltag || !d->rtag || !d->ldisp || !d->luri ||
      !d->rdisp || !d->ruri)
    e = SIPLINE_ERR_NOMEM;
  if (!e)
    d->target = contact_uri(mem, rsp, &e);
  if (!e)
    e = take_routes(d, rsp, 1);
  return finish_new(d, e, out);
}

int sipline__dialog_uas(sipline_ua *ua, unsigned line, const sipline_msg *req,
                        const sipline_path *path, const char *ltag,
                        sipline__dialog **out) {
  sipline__dialog *d = dialog_alloc(ua, line);
  if (!d)
    return SIPLINE_ERR_NOMEM;
  const sipline_mem *mem = ua->mem;
  d->confirmed = 0;
  d->rcseq = req->cseq;
  d->rcseq_set = 1;
  d->path = *path;
  int e = 0;
  d->call_id = sipline__strndup(mem, req->call_id.p, req->call_id.len);
  d->ltag = sipline__strdup(mem, ltag);
  d->rtag = sipline__strndup(mem, req->from.tag.p ? req->from.tag.p : "",
                             req->from.tag.len);
  d->ldisp = sipline__strndup(mem, req->to.display.p ? req->to.display.p : "",
                              req->to.display.len);
  d->luri = sipline__strndup(mem, req->to.uri_raw.p ? req->to.uri_raw.p : "",
                             req->to.uri_raw.len);
  d->rdisp = sipline__strndup(mem,
                              req->from.display.p ? req->from.display.p : "",
                              req->from.display.len);
  d->ruri = sipline__strndup(mem,
                             req->from.uri_raw.p ? req->from.uri_raw.p : "",
                             req->from.uri_raw.len);
  if (!d->call_id || !d->ltag || !d->rtag || !d->ldisp || !d->luri ||
      !d->rdisp || !d->ruri)
    e = SIPLINE_ERR_NOMEM;
  if (!e)
    d->target = contact_uri(mem, req, &e);
  if (!e)
    e = take_routes(d, req, 0);
  return finish_new(d, e, out);
}

int sipline__dialog_confirm(sipline__dialog *d, const sipline_msg *rsp) {
  d->confirmed = 1;
  int e = take_routes(d, rsp, 1);
  int t = sipline__dialog_refresh_target(d, rsp);
  return e ? e : (t == SIPLINE_ERR_NOMEM ? t : 0);
}

/* ------------------------------------------------------------------ */
/* requests */

/* The URI inside a route's name-addr ("<sip:p;lr>;x" -> "sip:p;lr"). */
static sipline_pl route_uri(const char *route) {
  sipline_nameaddr na;
  if (sipline_nameaddr_parse(sipline_pl_str(route), &na) == 0)
    return na.uri_raw;
  return sipline_pl_str(route);
}

static int is_loose(const char *route) {
  sipline_uri u;
  sipline_pl v;
  return sipline_uri_parse(route_uri(route), &u) == 0 &&
         sipline_param_get(u.params, "lr", &v) == 0;
}

void sipline__dialog_next_hop(const sipline__dialog *d, sipline_path *path) {
  *path = d->path;
  sipline_pl hop = d->n_routes ? route_uri(d->routes[0])
                               : sipline_pl_str(d->target);
  sipline_uri u;
  if (!hop.len || sipline_uri_parse(hop, &u) != 0 ||
      (u.scheme_id != SIPLINE_SCHEME_SIP && u.scheme_id != SIPLINE_SCHEME_SIPS))
    return;
  sipline_pl maddr;
  sipline_pl host = u.host;
  if (sipline_param_get(u.params, "maddr", &maddr) == 0 && maddr.len)
    host = maddr;
  sipline_addr a;
  if (sipline_addr_parse(host.p, host.len, &a) != 0)
    return; /* a name: the flow the dialog was made on */
  sipline_transport tp = d->path.tp;
  sipline_pl tpv;
  if (u.scheme_id == SIPLINE_SCHEME_SIPS)
    tp = SIPLINE_TP_TLS;
  else if (sipline_param_get(u.params, "transport", &tpv) == 0)
    tp = sipline_pl_casecmp_str(tpv, "tcp")   ? SIPLINE_TP_TCP
         : sipline_pl_casecmp_str(tpv, "tls") ? SIPLINE_TP_TLS
                                              : SIPLINE_TP_UDP;
  a.port = u.has_port ? u.port : (tp == SIPLINE_TP_TLS ? 5061 : 5060);
  if (sipline_addr_eq(&a, &d->path.remote) && tp == d->path.tp)
    return; /* the same flow: keep its local side and TLS host */
  memset(path, 0, sizeof *path);
  path->tp = tp;
  path->remote = a;
}

int sipline__dialog_build(sipline__dialog *d, const sipline__dialog_req *r,
                          sipline__buf *b, sipline_path *path) {
  sipline_ua *ua = d->ua;
  char branch[SIPLINE__BRANCH_LEN + 1];
  sipline__ua_new_branch(ua, branch);
  uint32_t cseq = r->cseq ? r->cseq : ++d->lcseq;
  /* §12.2.1.1: with a strict router first, it is the Request-URI and the
   * remote target goes last in Route. */
  int strict = d->n_routes && !is_loose(d->routes[0]);
  sipline_pl routes[SIPLINE__DIALOG_MAX_ROUTES + 1];
  size_t n = 0;
  for (unsigned i = strict ? 1 : 0; i < d->n_routes; i++)
    routes[n++] = sipline_pl_str(d->routes[i]);
  char last[300];
  if (strict && d->target) {
    size_t tl = strlen(d->target);
    if (tl + 3 <= sizeof last) {
      last[0] = '<';
      memcpy(last + 1, d->target, tl);
      last[tl + 1] = '>';
      routes[n++] = (sipline_pl){last, tl + 2};
    }
  }
  const char *mname = sipline_method_name(r->method);
  sipline__req_spec spec = {
      .method = sipline_pl_str(mname),
      .ruri = {.uri = strict ? route_uri(d->routes[0])
                             : sipline_pl_str(d->target ? d->target : "")},
      .line = d->line,
      .tp = d->path.tp,
      .branch = branch,
      .route = routes,
      .n_route = n,
      .from = {.display = sipline_pl_str(d->ldisp),
               .uri = {.uri = sipline_pl_str(d->luri)},
               .tag = sipline_pl_str(d->ltag)},
      .to = {.display = sipline_pl_str(d->rdisp),
             .uri = {.uri = sipline_pl_str(d->ruri)},
             .tag = sipline_pl_str(d->rtag)},
      .call_id = sipline_pl_str(d->call_id),
      .cseq = cseq,
      .flags = r->flags,
      .extra = r->extra,
      .auth = r->auth,
      .content_type = SIPLINE_PL("application/sdp"),
      .body = r->body};
  if (path)
    sipline__dialog_next_hop(d, path);
  return sipline__req_build(ua, &spec, b);
}
