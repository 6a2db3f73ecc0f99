/*
 * src/auth/client.c: answering digest challenges (RFC 3261 §22.2-§22.3,
 * RFC 2617 §3.2.2, RFC 7616 §3.4, RFC 8760) with a per-line credential
 * cache so later requests can pre-authenticate with the next nonce count.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "auth/auth.h"

/* Values of an entry that hold nothing sipline__wr_qesc would change, so
 * they are copied as they are (realm, nonce and opaque are checked once
 * per challenge, the kept Request-URI once per change). */
enum { PLAIN_REALM = 1, PLAIN_NONCE = 2, PLAIN_OPAQUE = 4, PLAIN_URI = 8 };

typedef struct realm_entry {
  uint8_t kind; /* sipline_auth_kind */
  uint8_t alg;  /* sipline_digest_alg */
  uint8_t qop;  /* sipline_digest_qop */
  uint8_t userhash;
  uint8_t has_opaque;
  /* HA1 = H(username:realm:password) does not change while the realm,
   * algorithm and password do not: computed on the first answer and kept
   * after opaque (entry_ha1), so a pre-authenticated refresh costs two
   * hashes instead of three. */
  uint8_t has_ha1;
  uint8_t plain; /* PLAIN_* */
  /* The MD5 state after the whole blocks of "HA1:nonce:" (see
   * sipline__digest_keep): room for it after the HA1 when the nonce is
   * long enough for it to save a block, and whether it is computed. */
  uint8_t mid_room, has_mid;
  /* HA2 = H(method:uri) kept for the last method and Request-URI answered
   * (not for auth-int, whose HA2 covers the body): the HA2 in hex, then
   * the method and the URI it was hashed from, after the HA1 (entry_a2).
   * a2_room is the room there (0 until the first answer grows the block
   * for it); has_ha2 says the HA2 and key are valid. */
  uint8_t has_ha2;
  uint16_t a2_mlen, a2_ulen, a2_room;
  uint32_t nc;   /* the last nonce count sent with this nonce */
  uint32_t uses; /* headers sent with this nonce (also without qop) */
  uint64_t seq;  /* when cached, to evict the oldest */
  /* One allocation: realm NUL nonce NUL opaque NUL, all unescaped, then
   * room for the HA1 in hex and its NUL, the MD5 state (mid_room) and the
   * kept HA2 with its key (a2_room). The values are found from their
   * lengths (at most SIPLINE_AUTH_MAX_VALUE) rather than kept as three
   * views: 42 bytes less per entry (issue 10: memory per line). */
  char *mem;
  uint16_t realm_len, nonce_len, opaque_len;
} realm_entry;

static sipline_pl e_realm(const realm_entry *e) {
  return (sipline_pl){e->mem, e->realm_len};
}

static sipline_pl e_nonce(const realm_entry *e) {
  return (sipline_pl){e->mem + e->realm_len + 1, e->nonce_len};
}

static sipline_pl e_opaque(const realm_entry *e) {
  return (sipline_pl){e->mem + e->realm_len + 1 + e->nonce_len + 1,
                      e->opaque_len};
}

/* Bytes of the MD5 state kept after the HA1. */
#define MID_LEN 16

static char *entry_ha1(const realm_entry *e) {
  return e->mem + e->realm_len + 1 + e->nonce_len + 1 + e->opaque_len + 1;
}

static unsigned char *entry_mid(const realm_entry *e) {
  return (unsigned char *)entry_ha1(e) +
         sipline_digest_alg_hexlen((sipline_digest_alg)e->alg) + 1;
}

static char *entry_a2(const realm_entry *e) {
  return (char *)entry_mid(e) + (e->mid_room ? MID_LEN : 0);
}

struct sipline_auth_client {
  const sipline_mem *mem;
  char *username;
  char *password;
  size_t password_len;
  unsigned flags;
  uint8_t user_plain; /* the username needs no escaping */
  uint64_t seq;
  size_t n;   /* entries in use: e[0..n) */
  size_t cap; /* entries allocated (at most MAX_REALMS) */
  /* Grown at the challenges that need it: nearly every server challenges
   * with one realm, and four entries inline cost 264 bytes more per
   * challenged server of every line (issue 10: memory per line). */
  realm_entry *e;
};

int sipline_auth_client_new(sipline_auth_client **pc,
                            const sipline_auth_client_cfg *cfg,
                            const sipline_mem *mem) {
  if (!pc)
    return SIPLINE_ERR_INVAL;
  *pc = NULL;
  if (!cfg || !cfg->username || !cfg->password || !cfg->username[0])
    return SIPLINE_ERR_INVAL;
  if (!mem)
    mem = sipline_mem_default();
  sipline_auth_client *c = sipline_mem_calloc(mem, 1, sizeof(*c));
  if (!c)
    return SIPLINE_ERR_NOMEM;
  c->mem = mem;
  c->flags = cfg->flags;
  c->username = sipline__strdup(mem, cfg->username);
  c->password = sipline__strdup(mem, cfg->password);
  if (!c->username || !c->password) {
    sipline_auth_client_del(c);
    return SIPLINE_ERR_NOMEM;
  }
  c->password_len = strlen(c->password);
  c->user_plain = !sipline__qesc_needed(sipline_pl_str(c->username));
  *pc = c;
  return 0;
}

/* Wipes what of e's block is secret: the HA1 (as good as the password for
 * this realm) and the MD5 state derived from it (as good as the password
 * for this nonce). The kept HA2 is a hash of public values. */
static void block_wipe(realm_entry *e) {
  if (e->mem && e->has_ha1)
    OPENSSL_cleanse(entry_ha1(e),
                    sipline_digest_alg_hexlen((sipline_digest_alg)e->alg));
  if (e->mem && e->has_mid)
    OPENSSL_cleanse(entry_mid(e), MID_LEN);
}

static void block_free(sipline_auth_client *c, realm_entry *e) {
  block_wipe(e);
  sipline_mem_free(c->mem, e->mem);
}

static void entry_free(sipline_auth_client *c, realm_entry *e) {
  block_free(c, e);
  memset(e, 0, sizeof(*e));
}

static void entry_remove(sipline_auth_client *c, size_t i) {
  entry_free(c, &c->e[i]);
  memmove(&c->e[i], &c->e[i + 1], (c->n - i - 1) * sizeof(c->e[0]));
  c->n--;
  memset(&c->e[c->n], 0, sizeof(c->e[0]));
}

void sipline_auth_client_reset(sipline_auth_client *c) {
  if (!c)
    return;
  while (c->n)
    entry_remove(c, c->n - 1);
}

void sipline_auth_client_del(sipline_auth_client *c) {
  if (!c)
    return;
  sipline_auth_client_reset(c);
  sipline_mem_free(c->mem, c->e);
  if (c->password) {
    OPENSSL_cleanse(c->password, c->password_len);
    sipline_mem_free(c->mem, c->password);
  }
  sipline_mem_free(c->mem, c->username);
  sipline_mem_free(c->mem, c);
}

size_t sipline_auth_client_count(const sipline_auth_client *c) {
  return c ? c->n : 0;
}

sipline_auth_kind sipline_auth_client_kind(const sipline_auth_client *c,
                                           size_t i) {
  return (c && i < c->n) ? (sipline_auth_kind)c->e[i].kind : SIPLINE_AUTH_WWW;
}

/* --- choosing a challenge ---------------------------------------------- */

/* One usable challenge, as views into the caller's header values. */
typedef struct cand {
  sipline_pl realm, nonce, opaque; /* escapes kept */
  uint8_t has_opaque, userhash, stale;
  sipline_digest_alg alg;
  sipline_digest_qop qop;
  /* unescaped realm, for comparing with the cache */
  char rbuf[SIPLINE_AUTH_MAX_VALUE];
  sipline_pl urealm;
} cand;

static int strength(sipline_digest_alg a) {
  switch (sipline__digest_base(a)) {
  case SIPLINE_DIGEST_MD5:
    return 1;
  case SIPLINE_DIGEST_SHA256:
    return 2;
  case SIPLINE_DIGEST_SHA512_256:
    return 3;
  default:
    return 0;
  }
}

/* Picks auth or auth-int from a qop-options list ("auth,auth-int"). */
static sipline_digest_qop choose_qop(sipline_pl list, unsigned flags) {
  int auth = 0, auth_int = 0;
  size_t i = 0;
  while (i < list.len) {
    size_t j = i;
    while (j < list.len && list.p[j] != ',')
      j++;
    sipline_pl tok = sipline_pl_trim((sipline_pl){list.p + i, j - i});
    if (sipline_pl_casecmp_str(tok, "auth"))
      auth = 1;
    else if (sipline_pl_casecmp_str(tok, "auth-int"))
      auth_int = 1;
    i = j + 1;
  }
  if (auth && auth_int)
    return (flags & SIPLINE_AUTH_PREFER_AUTH_INT) ? SIPLINE_QOP_AUTH_INT
                                                  : SIPLINE_QOP_AUTH;
  if (auth)
    return SIPLINE_QOP_AUTH;
  if (auth_int)
    return SIPLINE_QOP_AUTH_INT;
  return SIPLINE_QOP_NONE;
}

/*
 * Reads one challenge. Returns 1 when usable (filled *k), 0 when it is one
 * we skip (another scheme, unknown algorithm or qop), or an error.
 */
static int read_challenge(const sipline_auth_client *c, sipline_pl value,
                          cand *k) {
  sipline_auth_hdr h;
  if (sipline_auth_hdr_parse(value, &h) != 0)
    return SIPLINE_ERR_MALFORMED;
  if (!sipline_pl_casecmp_str(h.scheme, "Digest"))
    return 0;
  memset(k, 0, sizeof(*k));
  sipline_pl v;
  if (sipline_auth_hdr_get(&h, "realm", &k->realm) != 0 ||
      sipline_auth_hdr_get(&h, "nonce", &k->nonce) != 0 || k->nonce.len == 0)
    return SIPLINE_ERR_MALFORMED;
  if (k->realm.len >= SIPLINE_AUTH_MAX_VALUE ||
      k->nonce.len >= SIPLINE_AUTH_MAX_VALUE)
    return SIPLINE_ERR_TOOBIG;
  if (sipline_auth_hdr_get(&h, "opaque", &k->opaque) == 0) {
    if (k->opaque.len >= SIPLINE_AUTH_MAX_VALUE)
      return SIPLINE_ERR_TOOBIG;
    k->has_opaque = 1;
  }
  if (sipline_auth_hdr_get(&h, "algorithm", &v) != 0)
    v = SIPLINE_PL_NULL;
  k->alg = sipline_digest_alg_from(sipline_pl_trim(v));
  if (k->alg == SIPLINE_DIGEST_NONE)
    return 0;
  if ((c->flags & SIPLINE_AUTH_NO_MD5) &&
      sipline__digest_base(k->alg) == SIPLINE_DIGEST_MD5)
    return 0;
  if (sipline_auth_hdr_get(&h, "qop", &v) == 0) {
    k->qop = choose_qop(v, c->flags);
    if (k->qop == SIPLINE_QOP_NONE)
      return 0; /* only qop values we do not know */
  } else {
    /* RFC 2069 mode: no cnonce, so no -sess and no replay protection. */
    if ((c->flags & SIPLINE_AUTH_NO_RFC2069) || sipline__digest_is_sess(k->alg))
      return 0;
    k->qop = SIPLINE_QOP_NONE;
  }
  if (sipline_auth_hdr_get(&h, "stale", &v) == 0 &&
      sipline_pl_casecmp_str(sipline_pl_trim(v), "true"))
    k->stale = 1;
  if (sipline_auth_hdr_get(&h, "userhash", &v) == 0 &&
      sipline_pl_casecmp_str(sipline_pl_trim(v), "true"))
    k->userhash = 1;
  if (sipline__unescape(k->realm, k->rbuf, sizeof(k->rbuf), &k->urealm))
    return SIPLINE_ERR_TOOBIG;
  return 1;
}

static realm_entry *find_entry(sipline_auth_client *c, sipline_auth_kind kind,
                               sipline_pl realm, size_t *idx) {
  for (size_t i = 0; i < c->n; i++)
    if (c->e[i].kind == kind && sipline_pl_eq(e_realm(&c->e[i]), realm)) {
      if (idx)
        *idx = i;
      return &c->e[i];
    }
  return NULL;
}

/* 1 when an MD5 state after "HA1:nonce:" is worth keeping for k: MD5
 * (not -sess, whose key changes with every cnonce) with a nonce long enough
 * for that prefix to fill a block (the escaped length bounds the nonce:
 * sipline__digest_response_kept checks the real one). */
static int wants_mid(const cand *k) {
  return sipline__digest_base(k->alg) == SIPLINE_DIGEST_MD5 &&
         !sipline__digest_is_sess(k->alg) && 32 + 1 + k->nonce.len + 1 >= 64;
}

/* The block of an entry: realm, nonce, opaque (escaped lengths bound the
 * unescaped ones) and the HA1, each with a NUL, and the MD5 state. */
static size_t pack_len(const cand *k) {
  return k->urealm.len + k->nonce.len + k->opaque.len + 3 +
         sipline_digest_alg_hexlen(k->alg) + 1 + (wants_mid(k) ? MID_LEN : 0);
}

/* Copies the unescaped realm, nonce and opaque into one allocation. */
static char *pack(const sipline_mem *mem, const cand *k, sipline_pl out[3]) {
  char *m = sipline_mem_malloc(mem, pack_len(k));
  if (!m)
    return NULL;
  sipline_pl src[3] = {k->urealm, k->nonce, k->opaque};
  char *w = m;
  for (int i = 0; i < 3; i++) {
    sipline_pl u = src[i];
    /* nonce and opaque are unescaped straight into the block: unescaping
     * never makes a value longer. */
    if (i > 0) {
      size_t n = 0;
      for (size_t j = 0; j < src[i].len; j++) {
        char ch = src[i].p[j];
        if (ch == '\\' && j + 1 < src[i].len)
          ch = src[i].p[++j];
        w[n++] = ch;
      }
      u.len = n;
    } else if (u.len) {
      memcpy(w, u.p, u.len);
    }
    w[u.len] = '\0';
    out[i] = (sipline_pl){w, u.len};
    w += u.len + 1;
  }
  return m;
}

int sipline_auth_client_challenge(sipline_auth_client *c,
                                  sipline_auth_kind kind,
                                  const sipline_pl *values, size_t n) {
  if (!c || (!values && n))
    return SIPLINE_ERR_INVAL;
  cand best[SIPLINE_AUTH_CLIENT_MAX_REALMS];
  size_t nb = 0;
  int first_err = 0, parsed = 0;
  for (size_t i = 0; i < n; i++) {
    cand k;
    int r = read_challenge(c, values[i], &k);
    if (r < 0) {
      if (!first_err || first_err == SIPLINE_ERR_MALFORMED)
        first_err = r;
      continue;
    }
    parsed = 1;
    if (r == 0)
      continue;
    size_t j = 0;
    while (j < nb && !sipline_pl_eq(best[j].urealm, k.urealm))
      j++;
    if (j == nb) {
      if (nb == SIPLINE_AUTH_CLIENT_MAX_REALMS)
        continue; /* more realms than we answer at once */
      nb++;
    } else if (strength(k.alg) <= strength(best[j].alg)) {
      continue;
    }
    best[j] = k;
    /* k.urealm may point into k.rbuf: re-point it at the copy's buffer. */
    if (k.urealm.p == k.rbuf)
      best[j].urealm.p = best[j].rbuf;
  }
  if (nb == 0)
    return first_err && !parsed              ? first_err
           : first_err == SIPLINE_ERR_TOOBIG ? SIPLINE_ERR_TOOBIG
                                             : SIPLINE_ERR_UNSUPPORTED;

  /* Phase 1: allocate every new cache block and the room for the entries,
   * so NOMEM changes nothing. */
  size_t want = c->n + nb;
  if (want > SIPLINE_AUTH_CLIENT_MAX_REALMS)
    want = SIPLINE_AUTH_CLIENT_MAX_REALMS;
  if (want > c->cap) {
    realm_entry *ne = sipline_mem_realloc(c->mem, c->e, want * sizeof *ne);
    if (!ne)
      return SIPLINE_ERR_NOMEM;
    memset(ne + c->cap, 0, (want - c->cap) * sizeof *ne);
    c->e = ne;
    c->cap = want;
  }
  char *blocks[SIPLINE_AUTH_CLIENT_MAX_REALMS];
  sipline_pl views[SIPLINE_AUTH_CLIENT_MAX_REALMS][3];
  for (size_t j = 0; j < nb; j++) {
    blocks[j] = pack(c->mem, &best[j], views[j]);
    if (!blocks[j]) {
      while (j--)
        sipline_mem_free(c->mem, blocks[j]);
      return SIPLINE_ERR_NOMEM;
    }
  }

  /* Phase 2: commit, detecting refused credentials. */
  int rejected = 0;
  for (size_t j = 0; j < nb; j++) {
    const cand *k = &best[j];
    size_t idx;
    realm_entry *e = find_entry(c, kind, k->urealm, &idx);
    if (e && !k->stale && e->uses > 0 &&
        (e->uses == 1 || sipline_pl_eq(e_nonce(e), views[j][1]))) {
      /* We answered this realm's fresh nonce (or this very nonce) and the
       * server challenges again without stale=true: the password is
       * wrong. Forget the realm so the next request does not reuse it. */
      entry_remove(c, idx);
      sipline_mem_free(c->mem, blocks[j]);
      rejected = 1;
      continue;
    }
    if (!e) {
      if (c->n == SIPLINE_AUTH_CLIENT_MAX_REALMS) {
        size_t old = 0;
        for (size_t i = 1; i < c->n; i++)
          if (c->e[i].seq < c->e[old].seq)
            old = i;
        entry_remove(c, old);
      }
      e = &c->e[c->n++];
    } else {
      block_free(c, e);
    }
    e->kind = (uint8_t)kind;
    e->alg = (uint8_t)k->alg;
    e->qop = (uint8_t)k->qop;
    e->userhash = k->userhash;
    e->has_opaque = k->has_opaque;
    e->nc = 0;
    e->uses = 0;
    e->seq = ++c->seq;
    e->mem = blocks[j];
    /* pack laid them out in this order; each fits SIPLINE_AUTH_MAX_VALUE */
    e->realm_len = (uint16_t)views[j][0].len;
    e->nonce_len = (uint16_t)views[j][1].len;
    e->opaque_len = (uint16_t)views[j][2].len;
    e->has_ha1 = 0;
    e->plain =
        (uint8_t)((sipline__qesc_needed(e_realm(e)) ? 0 : PLAIN_REALM) |
                  (sipline__qesc_needed(e_nonce(e)) ? 0 : PLAIN_NONCE) |
                  (sipline__qesc_needed(e_opaque(e)) ? 0 : PLAIN_OPAQUE));
    e->mid_room = (uint8_t)wants_mid(k);
    e->has_mid = 0;
    e->has_ha2 = 0;
    e->a2_mlen = e->a2_ulen = e->a2_room = 0;
  }
  return rejected ? SIPLINE_ERR_AUTH : 0;
}

int sipline_auth_client_on_response(sipline_auth_client *c,
                                    const sipline_msg *m) {
  if (!c || !m)
    return SIPLINE_ERR_INVAL;
  static const struct {
    sipline_hdr_id id;
    sipline_auth_kind kind;
  } kinds[2] = {{SIPLINE_HDR_WWW_AUTHENTICATE, SIPLINE_AUTH_WWW},
                {SIPLINE_HDR_PROXY_AUTHENTICATE, SIPLINE_AUTH_PROXY}};
  int any = 0, ok = 0, err = 0;
  for (int k = 0; k < 2; k++) {
    sipline_pl v[SIPLINE_MSG_MAX_HDRS];
    size_t n = 0;
    const sipline_hdr *h;
    while (n < SIPLINE_MSG_MAX_HDRS &&
           (h = sipline_msg_hdr(m, kinds[k].id, (unsigned)n)) != NULL)
      v[n++] = h->value;
    if (!n)
      continue;
    any = 1;
    int r = sipline_auth_client_challenge(c, kinds[k].kind, v, n);
    if (r == 0)
      ok = 1;
    else if (r == SIPLINE_ERR_AUTH || !err)
      err = r;
  }
  if (!any)
    return SIPLINE_ERR_NOTFOUND;
  if (err == SIPLINE_ERR_AUTH || err == SIPLINE_ERR_NOMEM)
    return err;
  return ok ? 0 : err;
}

/* --- answering ------------------------------------------------------------ */

/*
 * Makes room after e's HA1 (and MD5 state) for an HA2 and the method and
 * URI it hashes; 0 or SIPLINE_ERR_NOMEM (the entry unchanged: the caller
 * then hashes HA2 without keeping it). Not realloc: a moved block would
 * leave the HA1 in freed memory unwiped.
 */
static int a2_reserve(sipline_auth_client *c, realm_entry *e, size_t need) {
  if (need <= e->a2_room)
    return 0;
  if (need > UINT16_MAX)
    return SIPLINE_ERR_TOOBIG;
  size_t base = (size_t)(entry_a2(e) - e->mem);
  char *m = sipline_mem_malloc(c->mem, base + need);
  if (!m)
    return SIPLINE_ERR_NOMEM;
  memcpy(m, e->mem, base);
  block_free(c, e);
  e->mem = m;
  e->a2_room = (uint16_t)need;
  e->has_ha2 = 0;
  return 0;
}

static void wr_val(sipline__wr *w, sipline_pl v, int plain) {
  if (plain)
    sipline__wr_pl(w, v);
  else
    sipline__wr_qesc(w, v);
}

static ptrdiff_t format_entry(sipline_auth_client *c, realm_entry *e,
                              const sipline_auth_req *req, sipline__wr *w) {
  if (!req || !req->method.len || !req->uri.len)
    return SIPLINE_ERR_INVAL;
  if (e->qop != SIPLINE_QOP_NONE && !req->rng)
    return SIPLINE_ERR_INVAL;
  if (e->qop != SIPLINE_QOP_NONE && e->nc == UINT32_MAX)
    return SIPLINE_ERR_RANGE;
  sipline_digest_alg alg = (sipline_digest_alg)e->alg;
  size_t hl = sipline_digest_alg_hexlen(alg);
  char cnonce[17] = "";
  sipline_pl username = sipline_pl_str(c->username);
  if (!e->has_ha1) {
    int err = sipline_digest_ha1(alg, username, e_realm(e),
                                 (sipline_pl){c->password, c->password_len},
                                 entry_ha1(e));
    if (err)
      return err;
    e->has_ha1 = 1;
  }
  /* The kept HA2 serves when method and Request-URI are the ones it was
   * hashed from (compared whole: a refresh's are a few dozen bytes). */
  sipline__digest_keep keep = {0};
  int uri_plain = 0, store_a2 = 0;
  if (e->qop != SIPLINE_QOP_AUTH_INT) {
    char *a2 = entry_a2(e);
    if (e->has_ha2 && e->a2_mlen == req->method.len &&
        e->a2_ulen == req->uri.len &&
        memcmp(a2 + hl, req->method.p, req->method.len) == 0 &&
        memcmp(a2 + hl + req->method.len, req->uri.p, req->uri.len) == 0) {
      keep.ha2 = a2;
      uri_plain = (e->plain & PLAIN_URI) != 0;
    } else if (a2_reserve(c, e, hl + req->method.len + req->uri.len) == 0) {
      e->has_ha2 = 0;
      keep.ha2_out = entry_a2(e);
      store_a2 = 1;
    }
  }
  if (e->mid_room) {
    keep.mid = entry_mid(e);
    keep.mid_ok = &e->has_mid;
  }
  sipline_digest_params p = {
      .alg = alg,
      .qop = (sipline_digest_qop)e->qop,
      .username = username,
      .realm = e_realm(e),
      .ha1 = {entry_ha1(e), hl},
      .method = req->method,
      .uri = req->uri,
      .nonce = e_nonce(e),
      .nc = e->nc + 1,
      .body = req->body,
  };
  if (e->qop != SIPLINE_QOP_NONE) {
    sipline_rng_token(req->rng, cnonce, 16);
    cnonce[16] = '\0';
    p.cnonce = (sipline_pl){cnonce, 16};
  }
  char resp[SIPLINE_DIGEST_HEX_MAX + 1];
  int err = sipline__digest_response_kept(&p, &keep, resp);
  if (err)
    return err;
  if (store_a2) {
    /* keep.ha2_out holds the HA2: key it by what it hashed. */
    char *a2 = entry_a2(e);
    memcpy(a2 + hl, req->method.p, req->method.len);
    memcpy(a2 + hl + req->method.len, req->uri.p, req->uri.len);
    e->a2_mlen = (uint16_t)req->method.len;
    e->a2_ulen = (uint16_t)req->uri.len;
    uri_plain = !sipline__qesc_needed(req->uri);
    e->plain = (uint8_t)((e->plain & ~PLAIN_URI) | (uri_plain ? PLAIN_URI : 0));
    e->has_ha2 = 1;
  }
  sipline_pl user = p.username;
  int user_plain = c->user_plain;
  char uh[SIPLINE_DIGEST_HEX_MAX + 1];
  if (e->userhash) {
    err = sipline_digest_userhash(alg, p.username, e_realm(e), uh);
    if (err)
      return err;
    user = (sipline_pl){uh, hl};
    user_plain = 1;
  }
  SIPLINE__WR_LIT(w, "Digest username=\"");
  wr_val(w, user, user_plain);
  SIPLINE__WR_LIT(w, "\", realm=\"");
  wr_val(w, e_realm(e), e->plain & PLAIN_REALM);
  SIPLINE__WR_LIT(w, "\", nonce=\"");
  wr_val(w, e_nonce(e), e->plain & PLAIN_NONCE);
  SIPLINE__WR_LIT(w, "\", uri=\"");
  wr_val(w, req->uri, uri_plain);
  SIPLINE__WR_LIT(w, "\", response=\"");
  sipline__wr_raw(w, resp, hl);
  SIPLINE__WR_LIT(w, "\", algorithm=");
  sipline__wr_pl(w, sipline__digest_alg_pl(alg));
  if (e->qop != SIPLINE_QOP_NONE) {
    char nc[8];
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++)
      nc[i] = hx[(p.nc >> (28 - 4 * i)) & 15];
    SIPLINE__WR_LIT(w, ", cnonce=\"");
    sipline__wr_raw(w, cnonce, 16);
    if (e->qop == SIPLINE_QOP_AUTH)
      SIPLINE__WR_LIT(w, "\", qop=auth, nc=");
    else
      SIPLINE__WR_LIT(w, "\", qop=auth-int, nc=");
    sipline__wr_raw(w, nc, 8);
  }
  if (e->has_opaque) {
    SIPLINE__WR_LIT(w, ", opaque=\"");
    wr_val(w, e_opaque(e), e->plain & PLAIN_OPAQUE);
    SIPLINE__WR_LIT(w, "\"");
  }
  if (e->userhash)
    SIPLINE__WR_LIT(w, ", userhash=true");
  return w->err;
}

ptrdiff_t sipline_auth_client_header(sipline_auth_client *c, size_t i,
                                     const sipline_auth_req *req, char *out,
                                     size_t cap) {
  if (!c)
    return SIPLINE_ERR_INVAL;
  if (i >= c->n)
    return SIPLINE_ERR_NOTFOUND;
  if (!out || !cap)
    return SIPLINE_ERR_TOOBIG;
  sipline__wr w;
  sipline__wr_init(&w, out, cap);
  ptrdiff_t r = format_entry(c, &c->e[i], req, &w);
  if (r)
    return r;
  r = sipline__wr_end(&w);
  if (r >= 0) {
    /* Counted only once the header is out. */
    if (c->e[i].qop != SIPLINE_QOP_NONE)
      c->e[i].nc++;
    if (c->e[i].uses < UINT32_MAX)
      c->e[i].uses++;
  }
  return r;
}

ptrdiff_t sipline_auth_client_headers(sipline_auth_client *c,
                                      const sipline_auth_req *req, char *out,
                                      size_t cap) {
  if (!c)
    return SIPLINE_ERR_INVAL;
  if (!out || !cap)
    return c->n ? SIPLINE_ERR_TOOBIG : 0;
  sipline__wr w;
  sipline__wr_init(&w, out, cap);
  for (size_t i = 0; i < c->n; i++) {
    /* Literals of known length: no strlen per append. */
    if (c->e[i].kind == SIPLINE_AUTH_PROXY)
      SIPLINE__WR_LIT(&w, "Proxy-Authorization: ");
    else
      SIPLINE__WR_LIT(&w, "Authorization: ");
    ptrdiff_t r = format_entry(c, &c->e[i], req, &w);
    if (r)
      return r;
    SIPLINE__WR_LIT(&w, "\r\n");
  }
  ptrdiff_t r = sipline__wr_end(&w);
  if (r >= 0)
    for (size_t i = 0; i < c->n; i++) {
      if (c->e[i].qop != SIPLINE_QOP_NONE)
        c->e[i].nc++;
      if (c->e[i].uses < UINT32_MAX)
        c->e[i].uses++;
    }
  return r;
}

size_t sipline__auth_client_need(const sipline_auth_client *c, size_t uri_len) {
  /* Each header is at most a few hundred bytes over the stored values. */
  size_t need = 1;
  for (size_t i = 0; c && i < c->n; i++)
    need += 2 * (strlen(c->username) + c->e[i].realm_len + c->e[i].nonce_len +
                 c->e[i].opaque_len + uri_len) +
            400;
  return need;
}

int sipline__auth_client_append(sipline_auth_client *c,
                                const sipline_auth_req *req, sipline__buf *b) {
  if (!c || !b || !req)
    return SIPLINE_ERR_INVAL;
  if (sipline__buf_reserve(b, sipline__auth_client_need(c, req->uri.len)))
    return b->err;
  ptrdiff_t r =
      sipline_auth_client_headers(c, req, b->p + b->len, b->cap - b->len);
  if (r < 0)
    return (int)r;
  b->len += (size_t)r;
  return 0;
}
