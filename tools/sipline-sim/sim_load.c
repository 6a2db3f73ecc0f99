/*
 * tools/sipline-sim/sim_load.c: the scenario loader (SIM.md "Scenario").
 *
 * Reads the scenario JSON into struct sim: DNS records, the scripted
 * servers (each becomes a registrar endpoint), the profile (a flat-profile
 * file, a line template and profile_keys on top), calls, until, seed,
 * latency and the "expect" entries. Every fault is one line that names the
 * file, the key and what is wrong (the caller exits 2 with it).
 *
 * It also keeps the lines' credentials (user id and auth id -> line and
 * password): the registrar challenges with them and the printer names the
 * line of a message by them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_internal.h"

/* ---- creds --------------------------------------------------------------- */

static int cred_find(const sim *s, const char *k, size_t n) {
  if (!s->ncredb)
    return -1;
  size_t b = sim__fnv(k, n, SIM_FNV0) % s->ncredb;
  for (int i = s->credb[b]; i >= 0; i = s->creds[i].next)
    if (strlen(s->creds[i].key) == n && memcmp(s->creds[i].key, k, n) == 0)
      return i;
  return -1;
}

static void cred_add(sim *s, const char *k, const char *pw, unsigned line) {
  if (!k || !*k || cred_find(s, k, strlen(k)) >= 0)
    return;
  if (s->ncreds == s->capcreds) {
    s->capcreds = s->capcreds ? 2 * s->capcreds : 64;
    s->creds = sim__xrealloc(s->creds, s->capcreds * sizeof(cred));
  }
  size_t b = sim__fnv(k, strlen(k), SIM_FNV0) % s->ncredb;
  s->creds[s->ncreds] = (cred){sim__xstrdup(k), pw, line, s->credb[b]};
  s->credb[b] = (int)s->ncreds++;
}

static void build_creds(sim *s) {
  unsigned n = s->profile->n_lines;
  s->ncredb = 2u * n + 17;
  s->credb = sim__xmalloc(s->ncredb * sizeof(int));
  for (size_t i = 0; i < s->ncredb; i++)
    s->credb[i] = -1;
  for (unsigned i = 1; i <= n; i++) {
    const sipline_line_cfg *c = sipline_profile_line(s->profile, i);
    if (!c)
      continue;
    const char *pw = c->password && *c->password ? c->password : NULL;
    /* By AOR user (is this line challenged? which line is it?) and by
       digest username. */
    cred_add(s, c->user_id, pw, i);
    if (c->auth_id && *c->auth_id)
      cred_add(s, c->auth_id, pw, i);
  }
}

unsigned sim__line_of(const sim *s, const ssip_msg *m) {
  spl u = ssip_uri_user(m->from);
  if (!u.p)
    return 0;
  int i = cred_find(s, u.p, u.len);
  return i < 0 ? 0 : s->creds[i].line;
}

const char *sim__password_for(const sim *s, spl user) {
  if (!user.p)
    return NULL;
  int i = cred_find(s, user.p, user.len);
  return i < 0 ? NULL : s->creds[i].password;
}

/* ---- values -------------------------------------------------------------- */

/* host:port, [v6]:port, or a bare IP (port 0). */
static int addr_parse(const char *s, sipline_addr *a) {
  char host[80];
  const char *port = NULL;
  memset(a, 0, sizeof(*a));
  if (*s == '[') {
    const char *e = strchr(s, ']');
    if (!e || (size_t)(e - s - 1) >= sizeof host)
      return -1;
    memcpy(host, s + 1, (size_t)(e - s - 1));
    host[e - s - 1] = 0;
    if (e[1] == ':')
      port = e + 2;
    else if (e[1])
      return -1;
  } else {
    const char *c = strchr(s, ':');
    if (c && strchr(c + 1, ':')) { /* bare IPv6 */
      if (strlen(s) >= sizeof host)
        return -1;
      strcpy(host, s);
    } else {
      size_t n = c ? (size_t)(c - s) : strlen(s);
      if (n >= sizeof host)
        return -1;
      memcpy(host, s, n);
      host[n] = 0;
      if (c)
        port = c + 1;
    }
  }
  if (inet_pton(AF_INET, host, a->ip) == 1)
    a->family = 4;
  else if (inet_pton(AF_INET6, host, a->ip) == 1)
    a->family = 6;
  else
    return -2; /* not an IP literal: maybe a name */
  if (port) {
    char *end;
    unsigned long v = strtoul(port, &end, 10);
    if (*end || v == 0 || v > 65535)
      return -1;
    a->port = (uint16_t)v;
  }
  return 0;
}

static int json_num(const cJSON *j, double lo, double hi, double *out) {
  if (!cJSON_IsNumber(j))
    return 0;
  double v = j->valuedouble;
  if (!(v >= lo && v <= hi))
    return 0;
  *out = v;
  return 1;
}

static sipline_tstamp secs_to_ms(double v) {
  return (sipline_tstamp)llround(v * 1000.0);
}

/* ---- dns ----------------------------------------------------------------- */

static int find_a(sim *s, const char *name, sipline_addr *out) {
  for (size_t i = 0; i < s->ndns; i++) {
    if (strcasecmp(s->dns[i].name, name) != 0)
      continue;
    for (size_t j = 0; j < s->dns[i].n; j++)
      if (s->dns[i].rr[j].type == SIPLINE_DNS_A ||
          s->dns[i].rr[j].type == SIPLINE_DNS_AAAA) {
        *out = s->dns[i].rr[j].addr;
        return 1;
      }
  }
  return 0;
}

/* "prio weight port target" */
static int parse_srv(const char *t, sipline_dns_rr *rr) {
  unsigned pr, w, port;
  char target[256];
  int used = 0;
  if (sscanf(t, "%u %u %u %255s%n", &pr, &w, &port, target, &used) != 4 ||
      t[used] != 0 || pr > 65535 || w > 65535 || port > 65535)
    return 0;
  rr->type = SIPLINE_DNS_SRV;
  rr->priority = (uint16_t)pr;
  rr->weight = (uint16_t)w;
  rr->port = (uint16_t)port;
  snprintf(rr->target, sizeof rr->target, "%s", target);
  return 1;
}

/* Reads one NAPTR token, quoted or not. */
static const char *naptr_tok(const char *p, char *out, size_t cap) {
  while (*p == ' ')
    p++;
  if (!*p)
    return NULL;
  size_t n = 0;
  if (*p == '"') {
    p++;
    while (*p && *p != '"') {
      if (n + 1 < cap)
        out[n++] = *p;
      p++;
    }
    if (*p != '"')
      return NULL;
    p++;
  } else {
    while (*p && *p != ' ') {
      if (n + 1 < cap)
        out[n++] = *p;
      p++;
    }
  }
  out[n] = 0;
  return p;
}

/* 'order pref "flags" "service" "regexp" replacement' (zone-file order). */
static int parse_naptr(const char *t, sipline_dns_rr *rr) {
  char tok[6][256];
  const char *p = t;
  for (int i = 0; i < 6; i++) {
    p = naptr_tok(p, tok[i], sizeof tok[i]);
    if (!p)
      return 0;
  }
  while (*p == ' ')
    p++;
  if (*p)
    return 0;
  char *end;
  unsigned long o = strtoul(tok[0], &end, 10);
  if (*end || o > 65535)
    return 0;
  unsigned long pref = strtoul(tok[1], &end, 10);
  if (*end || pref > 65535)
    return 0;
  rr->type = SIPLINE_DNS_NAPTR;
  rr->priority = (uint16_t)o;
  rr->weight = (uint16_t)pref;
  if (strlen(tok[3]) >= sizeof rr->service ||
      strlen(tok[5]) >= sizeof rr->target)
    return 0;
  memcpy(rr->service, tok[3], strlen(tok[3]) + 1);
  memcpy(rr->target, tok[5], strlen(tok[5]) + 1);
  return 1;
}

/* One record set of a name (an object of srv/naptr/a/aaaa lists, "ttl",
 * and in a list of sets "at"); what names the set in messages. */
static int load_dns_set(sim *s, dnsname *d, const char *name, const cJSON *e,
                        const char *what, char *err, size_t cap) {
  d->name = sim__xstrdup(name);
  d->ttl = UINT32_MAX;
  if (!cJSON_IsObject(e))
    return sim__fail(err, cap,
                     "%s: %s: must be an object (srv, naptr, a, aaaa, ttl) "
                     "or a list of them with \"at\"",
                     s->path, what);
  const cJSON *l;
  size_t total = 0;
  cJSON_ArrayForEach(l, e) if (cJSON_IsArray(l)) total +=
      (size_t)cJSON_GetArraySize(l);
  d->rr = sim__xcalloc(total ? total : 1, sizeof(sipline_dns_rr));
  cJSON_ArrayForEach(l, e) {
    int kind;
    if (strcmp(l->string, "srv") == 0)
      kind = SIPLINE_DNS_SRV;
    else if (strcmp(l->string, "naptr") == 0)
      kind = SIPLINE_DNS_NAPTR;
    else if (strcmp(l->string, "a") == 0)
      kind = SIPLINE_DNS_A;
    else if (strcmp(l->string, "aaaa") == 0)
      kind = SIPLINE_DNS_AAAA;
    else if (strcmp(l->string, "comment") == 0)
      continue;
    else if (strcmp(l->string, "ttl") == 0) {
      double v;
      if (!json_num(l, 0, 4294967295.0, &v) || v != (double)(uint32_t)v)
        return sim__fail(err, cap,
                         "%s: %s.ttl: must be whole seconds, 0..4294967295",
                         s->path, what);
      d->ttl = (uint32_t)v;
      d->has_ttl = 1;
      continue;
    } else if (strcmp(l->string, "at") == 0)
      continue; /* read by load_dns */
    else
      return sim__fail(err, cap,
                       "%s: %s.%s: unknown key (srv, naptr, a, aaaa, ttl)",
                       s->path, what, l->string);
    if (!cJSON_IsArray(l))
      return sim__fail(err, cap, "%s: %s.%s: must be a list of strings",
                       s->path, what, l->string);
    const cJSON *r;
    int i = 0;
    cJSON_ArrayForEach(r, l) {
      sipline_dns_rr *rr = &d->rr[d->n];
      if (!cJSON_IsString(r))
        return sim__fail(err, cap, "%s: %s.%s[%d]: must be a string",
                         s->path, what, l->string, i);
      int ok = 0;
      if (kind == SIPLINE_DNS_SRV)
        ok = parse_srv(r->valuestring, rr);
      else if (kind == SIPLINE_DNS_NAPTR)
        ok = parse_naptr(r->valuestring, rr);
      else {
        ok = addr_parse(r->valuestring, &rr->addr) == 0 &&
             rr->addr.port == 0 &&
             (rr->addr.family == 4) == (kind == SIPLINE_DNS_A);
        rr->type = (sipline_dns_qtype)kind;
      }
      if (!ok)
        return sim__fail(err, cap, "%s: %s.%s[%d]: \"%s\" is not %s",
                         s->path, what, l->string, i, r->valuestring,
                         kind == SIPLINE_DNS_SRV ? "\"priority weight port "
                                                   "target\""
                         : kind == SIPLINE_DNS_NAPTR
                             ? "'order pref \"flags\" \"service\" \"regexp\" "
                               "replacement'"
                         : kind == SIPLINE_DNS_A ? "an IPv4 address"
                                                 : "an IPv6 address");
      d->n++;
      i++;
    }
  }
  return 0;
}

static int load_dns(sim *s, const cJSON *dns, char *err, size_t cap) {
  if (!cJSON_IsObject(dns))
    return sim__fail(err, cap, "%s: dns: must be an object of names", s->path);
  size_t n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, dns) n +=
      cJSON_IsArray(e) ? (size_t)cJSON_GetArraySize(e) : 1;
  s->dns = sim__xcalloc(n ? n : 1, sizeof(dnsname));
  cJSON_ArrayForEach(e, dns) {
    char what[300];
    if (!cJSON_IsArray(e)) {
      snprintf(what, sizeof what, "dns.%s", e->string);
      if (load_dns_set(s, &s->dns[s->ndns++], e->string, e, what, err, cap))
        return 1;
      continue;
    }
    /* A list of record sets, each from its "at" on (the first at 0). */
    const cJSON *set;
    int k = 0;
    cJSON_ArrayForEach(set, e) {
      dnsname *d = &s->dns[s->ndns++];
      snprintf(what, sizeof what, "dns.%s[%d]", e->string, k);
      if (load_dns_set(s, d, e->string, set, what, err, cap))
        return 1;
      const cJSON *at = cJSON_GetObjectItemCaseSensitive(set, "at");
      double v = 0;
      if (at && !json_num(at, 0, 1e9, &v))
        return sim__fail(err, cap, "%s: %s.at: must be a time in seconds",
                         s->path, what);
      d->at = secs_to_ms(v);
      k++;
    }
  }
  return 0;
}

/* ---- servers ------------------------------------------------------------- */

/* One server's script: checks every entry into sc (n entries). */
static int load_script(sim *s, const cJSON *e, sim_registrar_script *sc,
                       char *err, size_t cap) {
  const cJSON *it;
  int i = 0;
  sipline_tstamp last = 0;
  cJSON_ArrayForEach(it, e) {
    sim_registrar_script *b = &sc[i];
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(it, "at");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "do");
    double t;
    if (!cJSON_IsObject(it))
      return sim__fail(err, cap, "%s: servers.%s[%d]: must be an object",
                       s->path, e->string, i);
    const cJSON *k;
    cJSON_ArrayForEach(k, it) {
      if (strcmp(k->string, "at") && strcmp(k->string, "do") &&
          strcmp(k->string, "comment"))
        return sim__fail(err, cap,
                         "%s: servers.%s[%d].%s: unknown key (at, do, "
                         "comment)",
                         s->path, e->string, i, k->string);
    }
    if (!json_num(at, 0, 1e9, &t))
      return sim__fail(err, cap,
                       "%s: servers.%s[%d].at: must be a number of "
                       "seconds >= 0",
                       s->path, e->string, i);
    b->at = secs_to_ms(t);
    if (b->at < last)
      return sim__fail(err, cap,
                       "%s: servers.%s[%d].at: %g is before the "
                       "previous entry",
                       s->path, e->string, i, t);
    last = b->at;
    if (!cJSON_IsString(d) || !sim__registrar_check(d->valuestring))
      return sim__fail(err, cap,
                       "%s: servers.%s[%d].do: %s%s%s is not a "
                       "behaviour (ok, ok-expires:N, silent, refuse, close, "
                       "reply:CODE[:retry-after=S][:min-expires=N], "
                       "reject-auth)",
                       s->path, e->string, i, cJSON_IsString(d) ? "\"" : "",
                       cJSON_IsString(d) ? d->valuestring : "(missing)",
                       cJSON_IsString(d) ? "\"" : "");
    b->what = d->valuestring;
    i++;
  }
  return 0;
}

/* host:port, or name:port where the name has an a/aaaa record in dns. */
static int server_addr(sim *s, const char *key, sipline_addr *a, char *err,
                       size_t cap) {
  int r = addr_parse(key, a);
  if (r == -2) {
    char host[96];
    const char *c = strrchr(key, ':');
    size_t hl = c ? (size_t)(c - key) : strlen(key);
    if (hl >= sizeof host)
      hl = sizeof host - 1;
    memcpy(host, key, hl);
    host[hl] = 0;
    if (!find_a(s, host, a))
      return sim__fail(err, cap,
                       "%s: servers.%s: %s is neither an IP address "
                       "nor a name with an a/aaaa record in dns",
                       s->path, key, host);
    a->port = c ? (uint16_t)atoi(c + 1) : 0;
    r = 0;
  }
  if (r != 0)
    return sim__fail(err, cap, "%s: servers.%s: not a host:port", s->path, key);
  if (!a->port)
    a->port = 5060;
  return 0;
}

static int load_servers(sim *s, const cJSON *servers, char *err, size_t cap) {
  if (!cJSON_IsObject(servers))
    return sim__fail(
        err, cap, "%s: servers: must be an object of host:port keys", s->path);
  const cJSON *e;
  cJSON_ArrayForEach(e, servers) {
    sipline_addr a;
    int r = server_addr(s, e->string, &a, err, cap);
    if (r)
      return r;
    const sim_endpoint *other = sim__endpoint_by_addr(s, &a);
    if (other)
      return sim__fail(err, cap, "%s: servers.%s: the same address as %s",
                       s->path, e->string, other->name);
    if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) == 0)
      return sim__fail(err, cap,
                       "%s: servers.%s: must be a non-empty list of "
                       "{\"at\": seconds, \"do\": behaviour}",
                       s->path, e->string);
    size_t n = (size_t)cJSON_GetArraySize(e);
    sim_registrar_script *sc = sim__xcalloc(n, sizeof(*sc));
    r = load_script(s, e, sc, err, cap);
    if (!r)
      sim__registrar_add(s, e->string, &a, sc, n);
    free(sc);
    if (r)
      return r;
  }
  return 0;
}

/* ---- calls --------------------------------------------------------------- */

static int load_calls(sim *s, const cJSON *calls, char *err, size_t cap) {
  if (!cJSON_IsArray(calls))
    return sim__fail(err, cap, "%s: calls: must be a list", s->path);
  s->calls = sim__xcalloc((size_t)cJSON_GetArraySize(calls), sizeof(call));
  const cJSON *c;
  int i = 0;
  sipline_tstamp last = 0;
  cJSON_ArrayForEach(c, calls) {
    call *k = &s->calls[s->ncalls++];
    double v;
    if (!cJSON_IsObject(c))
      return sim__fail(err, cap, "%s: calls[%d]: must be an object", s->path,
                       i);
    const cJSON *x;
    cJSON_ArrayForEach(
        x,
        c) if (strcmp(x->string, "at") && strcmp(x->string, "line") &&
               strcmp(x->string, "to") && strcmp(x->string, "hangup_after") &&
               strcmp(x->string, "script") &&
               strcmp(x->string,
                      "comment")) return sim__fail(err, cap,
                                                   "%s: calls[%d].%s: unknown "
                                                   "key (at, line, to, "
                                                   "hangup_after, script, "
                                                   "comment)",
                                                   s->path, i, x->string);
    if (!json_num(cJSON_GetObjectItemCaseSensitive(c, "at"), 0, 1e9, &v))
      return sim__fail(err, cap,
                       "%s: calls[%d].at: must be a number of seconds "
                       ">= 0",
                       s->path, i);
    k->at = secs_to_ms(v);
    if (k->at < last)
      return sim__fail(err, cap,
                       "%s: calls[%d].at: calls must be in time order", s->path,
                       i);
    last = k->at;
    if (!json_num(cJSON_GetObjectItemCaseSensitive(c, "line"), 1,
                  s->profile->n_lines, &v) ||
        v != floor(v))
      return sim__fail(err, cap,
                       "%s: calls[%d].line: must be a line number "
                       "1..%u",
                       s->path, i, s->profile->n_lines);
    k->line = (unsigned)v;
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(c, "to");
    if (!cJSON_IsString(to) || !*to->valuestring ||
        strlen(to->valuestring) >= sizeof k->to)
      return sim__fail(err, cap, "%s: calls[%d].to: must be a user or URI",
                       s->path, i);
    snprintf(k->to, sizeof k->to, "%s", to->valuestring);
    k->hangup_at = SIPLINE_TSTAMP_NONE;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "hangup_after");
    if (h) {
      if (!json_num(h, 0, 1e9, &v))
        return sim__fail(err, cap,
                         "%s: calls[%d].hangup_after: must be a "
                         "number of seconds >= 0",
                         s->path, i);
      k->hangup_at = k->at + secs_to_ms(v);
    }
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(c, "script");
    const cJSON *a;
    cJSON_ArrayForEach(a, sc) {
      static const char *const names[] = {"update", "update-nosdp",
                                          "reinvite", "reinvite-nosdp",
                                          "hold"};
      const cJSON *af = cJSON_GetObjectItemCaseSensitive(a, "after");
      const cJSON *d = cJSON_GetObjectItemCaseSensitive(a, "do");
      int what = -1;
      for (int j = 0; cJSON_IsString(d) && j < 5; j++)
        if (!strcmp(d->valuestring, names[j]))
          what = j;
      if (k->nact == CALL_MAX_ACTS || what < 0 || !json_num(af, 0, 1e9, &v))
        return sim__fail(err, cap,
                         "%s: calls[%d].script: each entry is {\"after\": s, "
                         "\"do\": update|update-nosdp|reinvite|reinvite-nosdp|"
                         "hold} (at most %d)",
                         s->path, i, CALL_MAX_ACTS);
      k->act_at[k->nact] = k->at + secs_to_ms(v);
      k->act[k->nact++] = what;
    }
    i++;
  }
  return 0;
}

/* ---- profile ------------------------------------------------------------- */

static int value_string(const cJSON *v, char *out, size_t cap) {
  if (cJSON_IsString(v))
    snprintf(out, cap, "%s", v->valuestring);
  else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble))
    snprintf(out, cap, "%.0f", v->valuedouble);
  else if (cJSON_IsNumber(v))
    snprintf(out, cap, "%g", v->valuedouble);
  else if (cJSON_IsBool(v))
    snprintf(out, cap, "%s", cJSON_IsTrue(v) ? "Yes" : "No");
  else
    return 0;
  return 1;
}

/* The profile's sentence without a leading "TAG: " (we name the tag). */
static const char *what_of(const sipline_profile_error *pe, const char *tag) {
  size_t n = strlen(tag);
  if (tag[0] && strncmp(pe->what, tag, n) == 0 && pe->what[n] == ':' &&
      pe->what[n + 1] == ' ')
    return pe->what + n + 2;
  return pe->what;
}

static int apply_key(sim *s, const char *where, const char *tag,
                     const char *val, char *err, size_t cap) {
  sipline_profile_error pe;
  memset(&pe, 0, sizeof pe);
  int r = sipline_profile_set(s->profile, tag, val, &pe);
  if (r == SIPLINE_ERR_NOMEM)
    return sim__fail(err, cap, "%s: %s.%s: out of memory", s->path, where, tag);
  if (r < 0)
    return sim__fail(err, cap, "%s: %s.%s: %s", s->path, where, tag,
                     pe.what[0] ? what_of(&pe, tag) : sipline_strerror(r));
  return 0;
}

/* Replaces every "{n}" in src by the line number. */
static void subst_n(const char *src, unsigned n, char *out, size_t cap) {
  size_t o = 0;
  for (const char *p = src; *p && o + 1 < cap;) {
    if (strncmp(p, "{n}", 3) == 0) {
      int w = snprintf(out + o, cap - o, "%u", n);
      if (w < 0)
        break;
      o += (size_t)w;
      if (o >= cap)
        o = cap - 1;
      p += 3;
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = 0;
}

static int load_profile(sim *s, char *err, size_t cap) {
  const cJSON *pf = cJSON_GetObjectItemCaseSensitive(s->root, "profile");
  if (pf) {
    if (!cJSON_IsString(pf) || !*pf->valuestring)
      return sim__fail(err, cap, "%s: profile: must be a file name", s->path);
    char file[4096];
    if (pf->valuestring[0] == '/')
      snprintf(file, sizeof file, "%s", pf->valuestring);
    else
      snprintf(file, sizeof file, "%s/%s", s->dir, pf->valuestring);
    sb x = {0};
    if (sim__sb_read_file(&x, file) < 0)
      return sim__fail(err, cap, "%s: profile: cannot read %s: %s", s->path,
                       file, strerror(errno));
    sipline_profile_error pe;
    memset(&pe, 0, sizeof pe);
    int r =
        sipline_profile_parse(&s->profile, x.p ? x.p : "", x.len, NULL, &pe);
    free(x.p);
    if (r < 0) {
      s->profile = NULL;
      if (pe.file_line)
        return sim__fail(
            err, cap, "%s:%u: %s: %s (profile of %s)", file, pe.file_line,
            pe.tag[0] ? pe.tag : "(xml)",
            pe.what[0] ? what_of(&pe, pe.tag) : sipline_strerror(r), s->path);
      return sim__fail(err, cap, "%s: %s: %s (profile of %s)", file,
                       pe.tag[0] ? pe.tag : "(xml)",
                       pe.what[0] ? what_of(&pe, pe.tag) : sipline_strerror(r),
                       s->path);
    }
    if (!s->o.quiet_warnings)
      for (unsigned i = 0; i < s->profile->n_extra; i++)
        fprintf(stderr, "sipline-sim: %s:%u: unknown tag %s kept (ignored)\n",
                file, s->profile->extra[i].file_line, s->profile->extra[i].tag);
  } else {
    if (sipline_profile_new(&s->profile, NULL) < 0)
      return sim__fail(err, cap, "%s: profile: out of memory", s->path);
  }
  const cJSON *lt = cJSON_GetObjectItemCaseSensitive(s->root, "line_template");
  if (lt) {
    double cnt;
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(lt, "keys");
    if (!cJSON_IsObject(lt) ||
        !json_num(cJSON_GetObjectItemCaseSensitive(lt, "count"), 1, 1000000,
                  &cnt) ||
        cnt != floor(cnt))
      return sim__fail(err, cap, "%s: line_template.count: must be 1..1000000",
                       s->path);
    if (!cJSON_IsObject(keys))
      return sim__fail(err, cap,
                       "%s: line_template.keys: must be an object of "
                       "tag -> value with {n} for the line number",
                       s->path);
    for (unsigned n = 1; n <= (unsigned)cnt; n++) {
      const cJSON *k;
      cJSON_ArrayForEach(k, keys) {
        char tag[128], val[1024], raw[1024];
        if (!value_string(k, raw, sizeof raw))
          return sim__fail(err, cap,
                           "%s: line_template.keys.%s: must be a string "
                           "or number",
                           s->path, k->string);
        subst_n(k->string, n, tag, sizeof tag);
        subst_n(raw, n, val, sizeof val);
        int r = apply_key(s, "line_template.keys", tag, val, err, cap);
        if (r)
          return r;
      }
    }
  }
  const cJSON *pk = cJSON_GetObjectItemCaseSensitive(s->root, "profile_keys");
  if (pk) {
    if (!cJSON_IsObject(pk))
      return sim__fail(err, cap,
                       "%s: profile_keys: must be an object of tag -> "
                       "value",
                       s->path);
    const cJSON *k;
    cJSON_ArrayForEach(k, pk) {
      char val[1024];
      if (strcmp(k->string, "comment") == 0)
        continue;
      if (!value_string(k, val, sizeof val))
        return sim__fail(err, cap,
                         "%s: profile_keys.%s: must be a string or "
                         "number",
                         s->path, k->string);
      int r = apply_key(s, "profile_keys", k->string, val, err, cap);
      if (r)
        return r;
    }
  }
  return 0;
}

/* ---- scenario ------------------------------------------------------------ */

static int check_expect(sim *s, const cJSON *ex, char *err, size_t cap) {
  if (!cJSON_IsArray(ex))
    return sim__fail(err, cap, "%s: expect: must be a list", s->path);
  int i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, ex) {
    if (!cJSON_IsObject(e) ||
        !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "match")))
      return sim__fail(err, cap, "%s: expect[%d].match: must be an object",
                       s->path, i);
    const cJSON *k;
    cJSON_ArrayForEach(k, e) {
      static const char *known[] = {
          "match",  "nth",       "t",         "after",  "after_nth",
          "delta",  "delta_min", "delta_max", "absent", "count",
          "within", "comment",   NULL};
      int ok = 0;
      for (int j = 0; known[j]; j++)
        ok |= strcmp(k->string, known[j]) == 0;
      if (!ok)
        return sim__fail(err, cap, "%s: expect[%d].%s: unknown key", s->path, i,
                         k->string);
    }
    i++;
  }
  return 0;
}

int sim_load_text(sim **out, const char *path, const char *json,
                  const sim_opts *o, char *err, size_t cap) {
  *out = NULL;
  sim *s = sim__xcalloc(1, sizeof(sim));
  s->path = sim__xstrdup(path);
  s->dir = sim__xstrdup(path);
  char *slash = strrchr(s->dir, '/');
  if (slash)
    *slash = 0;
  else
    strcpy(s->dir, ".");
  if (o)
    s->o = *o;
  int r = 0;
  s->root = cJSON_Parse(json);
  if (!s->root) {
    const char *ep = cJSON_GetErrorPtr();
    unsigned ln = 1;
    for (const char *p = json; ep && p < ep && *p; p++)
      ln += *p == '\n';
    r = sim__fail(err, cap, "%s:%u: (json): syntax error", path, ln);
    goto out;
  }
  if (!cJSON_IsObject(s->root)) {
    r = sim__fail(err, cap, "%s: (root): must be a JSON object", path);
    goto out;
  }
  const cJSON *k;
  cJSON_ArrayForEach(k, s->root) {
    static const char *known[] = {
        "comment", "profile", "profile_keys", "line_template", "servers", "dns",
        "calls",   "phones",  "until",        "seed",          "latency_ms",
        "expect",  NULL};
    int ok = 0;
    for (int j = 0; known[j]; j++)
      ok |= strcmp(k->string, known[j]) == 0;
    if (!ok) {
      r = sim__fail(err, cap,
                    "%s: %s: unknown key (comment, profile, "
                    "profile_keys, line_template, servers, dns, calls, phones, "
                    "until, seed, latency_ms, expect)",
                    path, k->string);
      goto out;
    }
  }
  const cJSON *dns = cJSON_GetObjectItemCaseSensitive(s->root, "dns");
  if (dns && (r = load_dns(s, dns, err, cap)))
    goto out;
  const cJSON *sv = cJSON_GetObjectItemCaseSensitive(s->root, "servers");
  if (!sv) {
    r = sim__fail(err, cap, "%s: servers: missing (at least one host:port)",
                  path);
    goto out;
  }
  if ((r = load_servers(s, sv, err, cap)))
    goto out;
  if ((r = load_profile(s, err, cap)))
    goto out;
  const cJSON *calls = cJSON_GetObjectItemCaseSensitive(s->root, "calls");
  if (calls && (r = load_calls(s, calls, err, cap)))
    goto out;
  double v;
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(s->root, "until");
  s->until = SIPLINE_SEC(3600);
  if (u) {
    if (!json_num(u, 0.001, 1e8, &v)) {
      r = sim__fail(err, cap, "%s: until: must be a number of seconds > 0",
                    path);
      goto out;
    }
    s->until = secs_to_ms(v);
  }
  const cJSON *sd = cJSON_GetObjectItemCaseSensitive(s->root, "seed");
  s->seed = 1;
  if (sd) {
    if (!json_num(sd, 0, 9007199254740991.0, &v) || v != floor(v)) {
      r = sim__fail(err, cap, "%s: seed: must be an integer >= 0", path);
      goto out;
    }
    s->seed = (uint64_t)v;
  }
  const cJSON *lat = cJSON_GetObjectItemCaseSensitive(s->root, "latency_ms");
  s->latency = 10;
  if (lat) {
    if (!json_num(lat, 0, 10000, &v) || v != floor(v)) {
      r = sim__fail(err, cap, "%s: latency_ms: must be an integer 0..10000",
                    path);
      goto out;
    }
    s->latency = (sipline_tstamp)v;
  }
  s->expect = cJSON_GetObjectItemCaseSensitive(s->root, "expect");
  if (s->expect && (r = check_expect(s, s->expect, err, cap)))
    goto out;
  if (s->o.have_seed)
    s->seed = s->o.seed;
  if (s->o.have_until)
    s->until = s->o.until_ms;
  build_creds(s);
  if (s->o.svg)
    s->svg = sim__svg_new(s);
  unsigned maxev = s->o.max_events;
  if (!maxev) {
    uint64_t m = 8ull * s->profile->n_lines;
    maxev = m < 4096 ? 4096 : m > (1u << 20) ? (1u << 20) : (unsigned)m;
  }
  sipline_settings st = {.profile = s->profile,
                         .seed = s->seed,
                         .local_host = "192.0.2.10",
                         .user_agent = "sipline-sim",
                         .max_events = maxev};
  int e = sipline_ua_new(&s->ua, &st, s->o.ua_mem, s);
  if (e < 0) {
    r = sim__fail(err, cap,
                  "%s: profile: the core refused the configuration: %s", path,
                  sipline_strerror(e));
    goto out;
  }
  const cJSON *ph;
  cJSON_ArrayForEach(ph, cJSON_GetObjectItemCaseSensitive(s->root, "phones")) {
    if ((r = sim__phone_attach(s, ph->string, ph, err, cap)))
      goto out;
  }
out:
  if (r) {
    sim_del(s);
    return r;
  }
  *out = s;
  return 0;
}

int sim_load(sim **out, const char *path, const sim_opts *o, char *err,
             size_t cap) {
  *out = NULL;
  sb x = {0};
  if (sim__sb_read_file(&x, path) < 0)
    return sim__fail(err, cap, "%s: (file): cannot read: %s", path,
                     strerror(errno));
  int r = sim_load_text(out, path, x.p ? x.p : "", o, err, cap);
  free(x.p);
  return r;
}
