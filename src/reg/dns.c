/*
 * src/reg/dns.c: where a line's servers come from (SPEC §1, RFC 3263):
 * the static list "host[:port][:p=prio][:weight][:A=ip,ip]|...", the
 * NAPTR/SRV/A/AAAA steps that resolve its names, and the RFC 2782 order of
 * the result. policy.c turns the resolved entries into the server list
 * (sipline__pol_build) and runs the failover machine on it.
 *
 * DNS is resolved at start (and again after a failed resolution), and
 * again at the first REGISTER after the least TTL of the records used
 * has passed (at least SIPLINE_DNS_TTL_MIN; TTL 0: at the next one); that
 * re-resolution keeps the line's transport (a NAPTR answer picks among
 * the records of it) and leaves the alternate proxy as first resolved.
 * policy.c keeps using the old list until the new one is complete and
 * swaps it in only when its addresses differ. A name's A records are
 * asked for, and its AAAA records only when it has no A record. SRV is asked for only with Use
 * DNS SRV = Yes (with DNS SRV Auto Prefix the _sip._udp. / _sip._tcp. /
 * _sips._tcp. prefix is added) or SIP Transport = Auto (NAPTR first, RFC
 * 3263 §4.1); a name with a port is looked up as A.
 */
#include <stdio.h>
#include <string.h>

#include "reg/polint.h"
#include "util/util.h"

/* ------------------------------------------------------------------ */
/* The static SRV list                                                  */

static int num16(const char *s, size_t len, uint16_t *out, unsigned min) {
  unsigned long v = 0;
  if (!len || len > 5)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v > 65535 || v < min)
    return -1;
  *out = (uint16_t)v;
  return 0;
}

static int host_ok(const char *s, size_t len) {
  if (!len || len >= 128)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
      return 0;
  }
  return 1;
}

static int parse_hop(const char *s, size_t len, sipline__hop *h,
                     const char **what) {
  size_t i = 0, hl;
  memset(h, 0, sizeof *h);
  while (len && (s[0] == ' ' || s[0] == '\t')) {
    s++;
    len--;
  }
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    len--;
  if (!len) {
    *what = "empty server entry";
    return -1;
  }
  if (s[0] == '[') {
    const char *e = memchr(s, ']', len);
    if (!e) {
      *what = "unbalanced [ in an IPv6 address";
      return -1;
    }
    hl = (size_t)(e - s) + 1;
    if (sipline__ip_parse(s, hl, &h->a[0])) {
      *what = "bad IPv6 address";
      return -1;
    }
    memcpy(h->host, s + 1, hl - 2);
    h->host[hl - 2] = 0;
    h->is_ip = 1;
    i = hl;
  } else {
    /* A bare IPv6 literal (no port possible) is accepted as a whole. */
    sipline_addr tmp;
    const char *c1 = memchr(s, ':', len);
    if (c1 && memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s)) &&
        !memchr(s, '=', len) && sipline__ip_parse(s, len, &tmp) == 0 &&
        len < sizeof h->host) {
      memcpy(h->host, s, len);
      h->host[len] = 0;
      h->is_ip = 1;
      return 0;
    }
    hl = c1 ? (size_t)(c1 - s) : len;
    if (!host_ok(s, hl)) {
      *what = "bad host name";
      return -1;
    }
    memcpy(h->host, s, hl);
    h->host[hl] = 0;
    h->is_ip = sipline__ip_parse(s, hl, &tmp) == 0;
    i = hl;
  }
  unsigned ntok = 0;
  while (i < len) {
    if (s[i] != ':') {
      *what = "expected ':' after the host";
      return -1;
    }
    i++;
    size_t j = i;
    while (j < len && s[j] != ':')
      j++;
    const char *t = s + i;
    size_t tl = j - i;
    if (!tl) {
      *what = "empty field";
      return -1;
    }
    if (tl > 2 && (t[0] == 'p' || t[0] == 'P') && t[1] == '=') {
      if (h->has_prio || num16(t + 2, tl - 2, &h->prio, 0)) {
        *what = "bad p= priority";
        return -1;
      }
      h->has_prio = 1;
    } else if (tl > 2 && (t[0] == 'w' || t[0] == 'W') && t[1] == '=') {
      if (h->has_weight || num16(t + 2, tl - 2, &h->weight, 0)) {
        *what = "bad w= weight";
        return -1;
      }
      h->has_weight = 1;
    } else if (tl > 2 && (t[0] == 'a' || t[0] == 'A') && t[1] == '=') {
      size_t k = 2;
      if (h->n_a) {
        *what = "A= given twice";
        return -1;
      }
      /* The A= list may not hold ':' (IPv4 only, or bracketed IPv6 with no
       * colon split: rejected by the ':' split above anyway). */
      while (k < tl) {
        size_t m = k;
        while (m < tl && t[m] != ',')
          m++;
        if (h->n_a >= SIPLINE__POL_MAX_A ||
            sipline__ip_parse(t + k, m - k, &h->a[h->n_a])) {
          *what = "bad A= address";
          return -1;
        }
        h->n_a++;
        k = m + 1;
      }
      if (!h->n_a) {
        *what = "empty A= list";
        return -1;
      }
    } else if (t[0] >= '0' && t[0] <= '9') {
      uint16_t v;
      if (ntok == 0 && !h->port && !h->has_prio && !h->has_weight) {
        if (num16(t, tl, &v, 1)) {
          *what = "bad port";
          return -1;
        }
        h->port = v;
      } else if (!h->has_weight) {
        if (num16(t, tl, &v, 0)) {
          *what = "bad weight";
          return -1;
        }
        h->weight = v;
        h->has_weight = 1;
      } else {
        *what = "too many numbers";
        return -1;
      }
    } else {
      *what = "unknown field";
      return -1;
    }
    ntok++;
    i = j;
  }
  if (h->is_ip && !h->n_a) {
    sipline__ip_parse(h->host, strlen(h->host), &h->a[0]);
    /* the literal itself is the address; n_a stays 0 (is_ip says it) */
  }
  return 0;
}

int sipline__hops_parse(const char *s, sipline__hop *out, unsigned cap,
                        const char **what) {
  const char *dummy;
  unsigned n = 0;
  if (!what)
    what = &dummy;
  *what = NULL;
  if (!s || !*s) {
    *what = "empty";
    return SIPLINE_ERR_MALFORMED;
  }
  for (const char *p = s;;) {
    const char *e = strchr(p, '|');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (n >= cap) {
      *what = "too many entries";
      return SIPLINE_ERR_MALFORMED;
    }
    if (parse_hop(p, len, &out[n], what))
      return SIPLINE_ERR_MALFORMED;
    n++;
    if (!e)
      break;
    p = e + 1;
  }
  return (int)n;
}

void sipline__rfc2782_order(const uint16_t *prio, const uint16_t *weight,
                            unsigned n, sipline_rng *rng, unsigned *idx) {
  /* Stable sort by priority (insertion sort; n is small). */
  for (unsigned i = 0; i < n; i++)
    idx[i] = i;
  for (unsigned i = 1; i < n; i++) {
    unsigned v = idx[i], j = i;
    while (j && prio[idx[j - 1]] > prio[v]) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = v;
  }
  /* Within a priority, RFC 2782: zero weights first, then repeatedly pick
   * r uniform in [0, sum] and take the first whose running sum >= r. */
  for (unsigned a = 0; a < n;) {
    unsigned b = a;
    while (b < n && prio[idx[b]] == prio[idx[a]])
      b++;
    unsigned grp[64], m = 0;
    for (unsigned k = a; k < b && m < 64; k++)
      if (weight[idx[k]] == 0)
        grp[m++] = idx[k];
    for (unsigned k = a; k < b && m < 64; k++)
      if (weight[idx[k]] != 0)
        grp[m++] = idx[k];
    for (unsigned k = a; k < b; k++) {
      uint64_t sum = 0, run = 0, r;
      unsigned left = b - k, pick = 0;
      for (unsigned q = 0; q < left; q++)
        sum += weight[grp[q]];
      /* With one left, or all weights 0, the order is already decided:
       * do not draw, so the random sequence does not depend on it. */
      r = (left > 1 && sum) ? sipline_rng_below(rng, sum + 1) : 0;
      for (unsigned q = 0; q < left; q++) {
        run += weight[grp[q]];
        if (run >= r) {
          pick = q;
          break;
        }
      }
      idx[k] = grp[pick];
      memmove(&grp[pick], &grp[pick + 1], (left - pick - 1) * sizeof grp[0]);
    }
    a = b;
  }
}

/* ------------------------------------------------------------------ */
/* DNS resolution (RFC 3263 as far as a UA needs it)                    */

static ent *ent_add(sipline__pol *pol) {
  if (pol->n_ent >= MAX_ENTS)
    return NULL;
  ent *e = &pol->ents[pol->n_ent++];
  memset(e, 0, sizeof *e);
  return e;
}

static const char *srv_prefix(sipline_transport tp) {
  return tp == SIPLINE_TP_TLS   ? "_sips._tcp."
         : tp == SIPLINE_TP_TCP ? "_sip._tcp."
                                : "_sip._udp.";
}

static void resolve_step(sipline__pol *pol, sipline_tstamp now) {
  for (unsigned i = 0; i < pol->n_ent; i++) {
    ent *e = &pol->ents[i];
    sipline_dns_qtype qt;
    const char *name;
    if (e->state == ENT_NEED_A) {
      qt = SIPLINE_DNS_A;
      name = e->host;
    } else if (e->state == ENT_NEED_SRV) {
      qt = SIPLINE_DNS_SRV;
      name = e->qname;
    } else if (e->state == ENT_NEED_NAPTR) {
      qt = SIPLINE_DNS_NAPTR;
      name = e->qname;
    } else if (e->state == ENT_NEED_AAAA) {
      qt = SIPLINE_DNS_AAAA;
      name = e->host;
    } else {
      continue;
    }
    e->qt = qt;
    e->qid = ++pol->next_qid;
    e->state = ENT_WAIT;
    pol->pending++;
    if (!pol->ops->dns || pol->ops->dns(pol->arg, e->qid, qt, name, now) < 0) {
      e->state = ENT_FAILED;
      pol->pending--;
    }
  }
  if (!pol->pending)
    sipline__pol_build(pol, now);
}

int sipline__pol_resolve_begin(sipline__pol *pol, sipline_tstamp now) {
  sipline__hop hops[SIPLINE_MAX_SERVERS];
  const char *what;
  const sipline_line_cfg *lc = pol->lc;
  const char *spec = lc->outbound_proxy && *lc->outbound_proxy
                         ? lc->outbound_proxy
                         : lc->proxy;
  int n = sipline__hops_parse(spec, hops, SIPLINE_MAX_SERVERS, &what);
  if (n < 0)
    return SIPLINE_ERR_CONFIG;
  if (!pol->ents) {
    pol->ents = sipline_mem_calloc(pol->mem, MAX_ENTS, sizeof(ent));
    if (!pol->ents)
      return SIPLINE_ERR_NOMEM;
  }
  pol->n_ent = 0;
  pol->pending = 0;
  pol->res_ttl = UINT32_MAX;
  if (!pol->refreshing)
    pol->resolving = 1;
  int srv_lookup = n == 1 && !hops[0].is_ip && !hops[0].n_a && !hops[0].port &&
                   !hops[0].has_prio &&
                   (lc->use_dns_srv || lc->transport == SIPLINE_TP_AUTO);
  for (int i = 0; i < n; i++) {
    ent *e = ent_add(pol);
    if (!e)
      break;
    sipline__str_copy(e->host, sizeof e->host, hops[i].host);
    e->port = hops[i].port;
    e->prio = hops[i].prio;
    e->weight = hops[i].weight;
    e->is_name = !hops[i].is_ip;
    if (hops[i].n_a) {
      e->n_addr = hops[i].n_a;
      memcpy(e->addr, hops[i].a, sizeof(sipline_addr) * hops[i].n_a);
      e->state = ENT_READY;
    } else if (hops[i].is_ip) {
      e->n_addr = 1;
      e->addr[0] = hops[i].a[0];
      e->state = ENT_READY;
    } else if (srv_lookup && lc->transport == SIPLINE_TP_AUTO) {
      sipline__str_copy(e->qname, sizeof e->qname, e->host);
      e->state = ENT_NEED_NAPTR;
    } else if (srv_lookup) {
      snprintf(e->qname, sizeof e->qname, "%s%s",
               lc->dns_srv_auto_prefix ? srv_prefix(pol->tp) : "", e->host);
      e->state = ENT_NEED_SRV;
    } else {
      e->state = ENT_NEED_A;
    }
  }
  if (pol->dual && !pol->refreshing) {
    const char *as = lc->alt_outbound_proxy && *lc->alt_outbound_proxy
                         ? lc->alt_outbound_proxy
                         : lc->alt_proxy;
    if (sipline__hops_parse(as, hops, 1, &what) == 1) {
      ent *e = ent_add(pol);
      if (!e)
        goto step;
      sipline__str_copy(e->host, sizeof e->host, hops[0].host);
      e->port = hops[0].port;
      e->alt = 1;
      e->is_name = !hops[0].is_ip;
      if (hops[0].n_a || hops[0].is_ip) {
        e->n_addr = hops[0].n_a ? hops[0].n_a : 1;
        memcpy(e->addr, hops[0].a, sizeof(sipline_addr) * e->n_addr);
        e->state = ENT_READY;
      } else {
        e->state = ENT_NEED_A;
      }
    }
  }
step:
  resolve_step(pol, now);
  return 0;
}

int sipline__pol_dns_answer(sipline__pol *pol, unsigned qid,
                            const sipline_dns_rr *rr, size_t n,
                            sipline_tstamp now) {
  ent *e = NULL;
  if (!pol || !(pol->resolving || pol->refreshing) || !pol->ents)
    return 0;
  for (unsigned i = 0; i < pol->n_ent; i++)
    if (pol->ents[i].state == ENT_WAIT && pol->ents[i].qid == qid)
      e = &pol->ents[i];
  if (!e)
    return 0;
  pol->pending--;
  if (e->qt == SIPLINE_DNS_NAPTR) {
    /* RFC 3263 §4.1: the lowest order, then preference, among the services
     * we speak. */
    const sipline_dns_rr *best = NULL;
    sipline_transport btp = SIPLINE_TP_UDP;
    for (size_t i = 0; i < n; i++) {
      sipline_transport t;
      if (rr[i].type != SIPLINE_DNS_NAPTR)
        continue;
      if (!strcmp(rr[i].service, "SIP+D2U") ||
          !strcmp(rr[i].service, "sip+d2u"))
        t = SIPLINE_TP_UDP;
      else if (!strcmp(rr[i].service, "SIP+D2T") ||
               !strcmp(rr[i].service, "sip+d2t"))
        t = SIPLINE_TP_TCP;
      else if (!strcmp(rr[i].service, "SIPS+D2T") ||
               !strcmp(rr[i].service, "sips+d2t"))
        t = SIPLINE_TP_TLS;
      else
        continue;
      if (pol->refreshing && t != pol->tp)
        continue; /* a re-resolution keeps the transport in use */
      if (!best || rr[i].priority < best->priority ||
          (rr[i].priority == best->priority && rr[i].weight < best->weight)) {
        best = &rr[i];
        btp = t;
      }
    }
    if (!pol->refreshing)
      pol->tp = btp;
    if (best)
      pol->res_ttl = SIPLINE__MIN(pol->res_ttl, best->ttl);
    if (best && best->target[0])
      sipline__str_copy(e->qname, sizeof e->qname, best->target);
    else
      snprintf(e->qname, sizeof e->qname, "%s%s", srv_prefix(pol->tp), e->host);
    e->state = ENT_NEED_SRV;
  } else if (e->qt == SIPLINE_DNS_SRV) {
    unsigned added = 0;
    for (size_t i = 0; i < n; i++) {
      if (rr[i].type != SIPLINE_DNS_SRV || !rr[i].target[0] ||
          !strcmp(rr[i].target, "."))
        continue;
      ent *t = ent_add(pol);
      if (!t)
        break;
      sipline__str_copy(t->host, sizeof t->host, rr[i].target);
      /* a trailing dot of a fully qualified target is not part of SNI */
      size_t tl = strlen(t->host);
      if (tl > 1 && t->host[tl - 1] == '.')
        t->host[tl - 1] = 0;
      t->port = rr[i].port;
      t->prio = rr[i].priority;
      t->weight = rr[i].weight;
      pol->res_ttl = SIPLINE__MIN(pol->res_ttl, rr[i].ttl);
      if (sipline__ip_parse(t->host, strlen(t->host), &t->addr[0]) == 0) {
        t->n_addr = 1;
        t->state = ENT_READY;
      } else {
        t->is_name = 1;
        t->state = ENT_NEED_A;
      }
      added++;
    }
    e = NULL; /* ent_add never moves the array, but be explicit */
    for (unsigned i = 0; i < pol->n_ent; i++)
      if (pol->ents[i].qid == qid)
        e = &pol->ents[i];
    if (added) {
      e->state = ENT_DONE;
    } else {
      /* RFC 3263 §4.2: no SRV records, use the A records of the name. */
      e->state = ENT_NEED_A;
    }
  } else {
    e->n_addr = 0;
    for (size_t i = 0; i < n && e->n_addr < SIPLINE__POL_MAX_A; i++)
      if ((rr[i].type == SIPLINE_DNS_A || rr[i].type == SIPLINE_DNS_AAAA) &&
          (rr[i].addr.family == 4 || rr[i].addr.family == 6)) {
        e->addr[e->n_addr++] = rr[i].addr;
        pol->res_ttl = SIPLINE__MIN(pol->res_ttl, rr[i].ttl);
      }
    /* RFC 3263 §4.2: A or AAAA; IPv4 first, IPv6 when there is none. */
    e->state = e->n_addr                ? ENT_READY
               : e->qt == SIPLINE_DNS_A ? ENT_NEED_AAAA
                                        : ENT_FAILED;
  }
  resolve_step(pol, now);
  return 1;
}
