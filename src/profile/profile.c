/*
 * src/profile/profile.c: the vendor flat-profile XML (SPEC §1) read with
 * expat, every parameter with its default and range, and the RSC lists of
 * SPEC R8.
 *
 * The document is operator input, but it may come from a provisioning server
 * over the network, so the reader is defensive: no DOCTYPE at all (so no
 * entity declarations, internal or external, and no billion-laughs), a size
 * limit, a nesting limit and a limit on each value. Every allocation, expat's
 * included, goes through the profile's sipline_mem.
 */
#include <expat.h>
#include <stdio.h>
#include <string.h>

#include "profile/xml.h"

#include "sipline/profile.h"
#include "util/util.h"

/* The longest tag name and value we keep (a proxy SRV list fits easily). */
#define MAX_TAG 128
#define MAX_VALUE 4096

const char *sipline_transport_name(sipline_transport tp) {
  switch (tp) {
  case SIPLINE_TP_UDP:
    return "UDP";
  case SIPLINE_TP_TCP:
    return "TCP";
  case SIPLINE_TP_TLS:
    return "TLS";
  case SIPLINE_TP_AUTO:
    return "Auto";
  }
  return "?";
}

/* ---- RSC lists (R8) ------------------------------------------------------ */

static int rsc_char_ok(char c) {
  return (c >= '0' && c <= '9') || c == '?';
}

void sipline_rsc_parse(const char *s, sipline_rsc *out, unsigned *n_invalid,
                       char *bad, size_t badcap) {
  unsigned inval = 0;
  out->n = 0;
  if (bad && badcap)
    bad[0] = '\0';
  if (s) {
    const char *q = s;
    for (;;) {
      const char *e = strchr(q, ',');
      sipline_pl tok = {q, e ? (size_t)(e - q) : strlen(q)};
      tok = sipline_pl_trim(tok);
      /* An empty token (a trailing comma, an empty list) says nothing. */
      if (tok.len) {
        int ok = tok.len == 3 && rsc_char_ok(tok.p[0]) &&
                 rsc_char_ok(tok.p[1]) && rsc_char_ok(tok.p[2]);
        if (ok && out->n < SIPLINE_RSC_MAX) {
          memcpy(out->pat[out->n++], tok.p, 3);
        } else {
          if (inval == 0 && bad && badcap) {
            size_t n = SIPLINE__MIN(tok.len, badcap - 1);
            memcpy(bad, tok.p, n);
            bad[n] = '\0';
          }
          inval++;
        }
      }
      if (!e)
        break;
      q = e + 1;
    }
  }
  if (n_invalid)
    *n_invalid = inval;
}

int sipline_rsc_match(const sipline_rsc *r, int status) {
  if (!r || status < 100 || status > 999)
    return 0;
  char d[3] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10),
               (char)('0' + status % 10)};
  for (unsigned i = 0; i < r->n && i < SIPLINE_RSC_MAX; i++) {
    int m = 1;
    for (int k = 0; k < 3; k++)
      if (r->pat[i][k] != '?' && r->pat[i][k] != d[k])
        m = 0;
    if (m)
      return 1;
  }
  return 0;
}

/* ---- the parameter table ------------------------------------------------- */

typedef enum kind {
  K_STR,  /* a token: no whitespace or control characters */
  K_TEXT, /* free text (display name): no control characters */
  K_PASS, /* a password: kept verbatim, never echoed in errors */
  K_BOOL, /* Yes / No */
  K_U32,  /* whole seconds or a count, [min, max] */
  K_OFFU32, /* as K_U32, or empty / "No" / "Off": UINT32_MAX (off) */
  K_MS,   /* seconds with up to 3 decimals, stored in ms, [min, max] ms */
  K_TP,   /* UDP / TCP / TLS / Auto */
  K_PORT, /* 1..65535 */
  K_RSC,  /* R8 list */
  K_CMD,  /* a command line (daemon): no control characters */
} kind;

typedef struct tagdef {
  const char *name;
  kind k;
  size_t off;
  uint32_t min, max;
} tagdef;

#define L(name, k, f, mn, mx)                                                  \
  { name, k, offsetof(sipline_line_cfg, f), mn, mx }
#define G(name, k, f, mn, mx)                                                  \
  { name, k, offsetof(sipline_profile, f), mn, mx }

/* Per-line tags, without their _n_ suffix. */
static const tagdef line_tags[] = {
    L("Proxy", K_STR, proxy, 0, 0),
    L("Outbound_Proxy", K_STR, outbound_proxy, 0, 0),
    L("Alternate_Proxy", K_STR, alt_proxy, 0, 0),
    L("Alternate_Outbound_Proxy", K_STR, alt_outbound_proxy, 0, 0),
    L("User_ID", K_STR, user_id, 0, 0),
    L("Password", K_PASS, password, 0, 0),
    L("Auth_ID", K_STR, auth_id, 0, 0),
    L("Display_Name", K_TEXT, display_name, 0, 0),
    L("Use_Auth_ID", K_BOOL, use_auth_id, 0, 0),
    L("Dual_Registration", K_BOOL, dual_registration, 0, 0),
    L("Register", K_BOOL, reg, 0, 0),
    L("Register_Expires", K_U32, register_expires, 32, 2000000),
    L("Proxy_Fallback_Intvl", K_U32, proxy_fallback_intvl, 0, 65535),
    L("Auto_Register_When_Failover", K_BOOL, auto_register_when_failover, 0, 0),
    L("Use_DNS_SRV", K_BOOL, use_dns_srv, 0, 0),
    L("DNS_SRV_Auto_Prefix", K_BOOL, dns_srv_auto_prefix, 0, 0),
    L("SIP_Transport", K_TP, transport, 0, 0),
    L("SIP_Port", K_PORT, sip_port, 1, 65535),
    L("Auth_Resync-Reboot", K_BOOL, auth_resync_reboot, 0, 0),
    L("Keep_Alive_Intvl", K_U32, keepalive_intvl, 0, 86400),
    L("Keep_Alive_Fail_Count", K_U32, keepalive_fail_count, 1, 100),
    /* RFC 4028: 0 turns session timers off; RFC 4028 §5 puts the floor of
     * Min-SE at 90 s (a Session_Expires below Min_SE is raised to it). */
    L("Session_Expires", K_U32, session_expires, 0, 86400),
    L("Min_SE", K_U32, min_se, 90, 86400),
    /* Answer incoming calls after N s (the daemon's; Off by default). */
    L("Auto_Answer", K_OFFU32, auto_answer, 0, 3600),
    /* SRTP with SDES keys (RFC 4568) on calls: the daemon's. */
    L("Secure_Call_Setting", K_BOOL, secure_call, 0, 0),
    /* The media of answered incoming calls (paths: the daemon's). */
    L("Answer_Play", K_TEXT, answer_play, 0, 0),
    L("Answer_Record_Dir", K_TEXT, answer_record_dir, 0, 0),
};

/*
 * Global tags. Intervals are capped at 2147483 s so that any of them in
 * milliseconds fits an int32 and sums of two cannot overflow 64 bits.
 */
#define SMAX 2147483u
static const tagdef global_tags[] = {
    G("Try_Backup_RSC", K_RSC, try_backup_rsc, 0, 0),
    G("Retry_Reg_RSC", K_RSC, retry_reg_rsc, 0, 0),
    G("Reg_Retry_Intvl", K_U32, reg_retry_intvl, 1, SMAX),
    G("Reg_Retry_Long_Intvl", K_U32, reg_retry_long_intvl, 0, SMAX),
    G("Reg_Retry_Random_Delay", K_U32, reg_retry_random_delay, 0, SMAX),
    G("Reg_Retry_Long_Random_Delay", K_U32, reg_retry_long_random_delay, 0,
      SMAX),
    G("Reg_Retry_Intvl_Cap", K_U32, reg_retry_intvl_cap, 0, SMAX),
    G("Reg_Min_Expires", K_U32, reg_min_expires, 1, 2000000),
    G("Reg_Max_Expires", K_U32, reg_max_expires, 1, 2000000),
    /* RFC 3261 timers: the vendor allows 0..64 s; T1, T2 and the
     * transaction timeouts must be positive or retransmission and timeout
     * arithmetic degenerates. */
    G("SIP_T1", K_MS, t1_ms, 1, 64000),
    G("SIP_T2", K_MS, t2_ms, 1, 64000),
    G("SIP_T4", K_MS, t4_ms, 0, 64000),
    G("SIP_Timer_B", K_MS, timer_b_ms, 1, 64000),
    G("SIP_Timer_F", K_MS, timer_f_ms, 1, 64000),
    G("SIP_Timer_H", K_MS, timer_h_ms, 1, 64000),
    G("SIP_Timer_D", K_MS, timer_d_ms, 0, 64000),
    G("SIP_Timer_J", K_MS, timer_j_ms, 0, 64000),
    G("Resync_From_SIP", K_BOOL, resync_from_sip, 0, 0),
    G("Block_Nonproxy_SIP", K_BOOL, block_nonproxy_sip, 0, 0),
    G("Resync_Command", K_CMD, resync_command, 0, 0),
    G("Reboot_Command", K_CMD, reboot_command, 0, 0),
};

static void line_defaults(sipline_line_cfg *l, unsigned n) {
  memset(l, 0, sizeof(*l));
  l->n = n;
  l->reg = 1;
  l->register_expires = 3600;
  l->proxy_fallback_intvl = 3600;
  l->auto_register_when_failover = 1;
  l->transport = SIPLINE_TP_UDP;
  /* The vendor numbers line ports from 5060 up; past the port space the
   * line has to be given one explicitly (0 = not set). */
  l->sip_port = (n - 1u <= 65535u - 5060u) ? (uint16_t)(5060u + n - 1u) : 0;
  l->auth_resync_reboot = 1;
  l->keepalive_intvl = 0;
  l->keepalive_fail_count = 3;
  l->session_expires = 1800;
  l->min_se = 90;
  l->auto_answer = UINT32_MAX;
}

static void global_defaults(sipline_profile *p) {
  memset(&p->try_backup_rsc, 0, sizeof(p->try_backup_rsc));
  memset(&p->retry_reg_rsc, 0, sizeof(p->retry_reg_rsc));
  p->reg_retry_intvl = 30;
  p->reg_retry_long_intvl = 1200;
  p->reg_retry_random_delay = 0;
  p->reg_retry_long_random_delay = 0;
  p->reg_retry_intvl_cap = 0;
  p->reg_min_expires = 1;
  p->reg_max_expires = 7200;
  p->t1_ms = 500;
  p->t2_ms = 4000;
  p->t4_ms = 5000;
  p->timer_b_ms = p->timer_f_ms = p->timer_h_ms = p->timer_d_ms =
      p->timer_j_ms = 16000;
  p->resync_from_sip = 1;
  p->block_nonproxy_sip = 0;
}

/* The default of one field, applied when its element is empty. */
static void field_default(sipline_profile *p, const tagdef *d,
                          sipline_line_cfg *l) {
  void *base = l ? (void *)l : (void *)p;
  char *f = (char *)base + d->off;
  if (d->k == K_STR || d->k == K_TEXT || d->k == K_PASS || d->k == K_CMD) {
    char **s = (char **)(void *)f;
    sipline_mem_free(p->mem, *s);
    *s = NULL;
    return;
  }
  if (l) {
    sipline_line_cfg def;
    line_defaults(&def, l->n);
    if (d->k == K_BOOL || d->k == K_TP)
      memcpy(f, (char *)&def + d->off, sizeof(int));
    else if (d->k == K_PORT)
      memcpy(f, (char *)&def + d->off, sizeof(uint16_t));
    else
      memcpy(f, (char *)&def + d->off, sizeof(uint32_t));
    return;
  }
  sipline_profile def;
  memset(&def, 0, sizeof(def));
  global_defaults(&def);
  size_t sz = d->k == K_RSC    ? sizeof(sipline_rsc)
              : d->k == K_BOOL ? sizeof(int)
                               : sizeof(uint32_t);
  memcpy(f, (char *)&def + d->off, sz);
}

int sipline_profile_new(sipline_profile **out, const sipline_mem *mem) {
  if (!out)
    return SIPLINE_ERR_INVAL;
  *out = NULL;
  sipline_profile *p = sipline_mem_calloc(mem, 1, sizeof(*p));
  if (!p)
    return SIPLINE_ERR_NOMEM;
  p->mem = mem;
  global_defaults(p);
  p->lines = sipline_mem_calloc(mem, 1, sizeof(*p->lines));
  if (!p->lines) {
    sipline_mem_free(mem, p);
    return SIPLINE_ERR_NOMEM;
  }
  p->n_lines = 1;
  line_defaults(&p->lines[0], 1);
  *out = p;
  return 0;
}

static void free_line(const sipline_mem *mem, sipline_line_cfg *l) {
  sipline_mem_free(mem, l->proxy);
  sipline_mem_free(mem, l->outbound_proxy);
  sipline_mem_free(mem, l->alt_proxy);
  sipline_mem_free(mem, l->alt_outbound_proxy);
  sipline_mem_free(mem, l->user_id);
  if (l->password) {
    /* Do not leave the secret behind in freed memory. */
    volatile char *v = l->password;
    while (*v)
      *v++ = 0;
  }
  sipline_mem_free(mem, l->password);
  sipline_mem_free(mem, l->auth_id);
  sipline_mem_free(mem, l->display_name);
  sipline_mem_free(mem, l->answer_play);
  sipline_mem_free(mem, l->answer_record_dir);
}

static void free_extras(const sipline_mem *mem, sipline_profile_extra *x,
                        unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    sipline_mem_free(mem, x[i].tag);
    sipline_mem_free(mem, x[i].value);
  }
  sipline_mem_free(mem, x);
}

void sipline_profile_del(sipline_profile *p) {
  if (!p)
    return;
  const sipline_mem *mem = p->mem;
  for (unsigned i = 0; i < p->n_lines; i++)
    free_line(mem, &p->lines[i]);
  sipline_mem_free(mem, p->lines);
  free_extras(mem, p->extra, p->n_extra);
  free_extras(mem, p->warnings, p->n_warnings);
  sipline_mem_free(mem, p->resync_command);
  sipline_mem_free(mem, p->reboot_command);
  sipline_mem_free(mem, p);
}

static int dup_opt(const sipline_mem *mem, char **dst, const char *src) {
  *dst = NULL;
  if (!src)
    return 0;
  *dst = sipline__strdup(mem, src);
  return *dst ? 0 : SIPLINE_ERR_NOMEM;
}

static int copy_extras(const sipline_mem *mem, sipline_profile_extra **dst,
                       unsigned *ndst, const sipline_profile_extra *src,
                       unsigned n) {
  *dst = NULL;
  *ndst = 0;
  if (!n || !src)
    return 0;
  sipline_profile_extra *x = sipline_mem_calloc(mem, n, sizeof(*x));
  if (!x)
    return SIPLINE_ERR_NOMEM;
  *dst = x;
  *ndst = n;
  for (unsigned i = 0; i < n; i++) {
    x[i].file_line = src[i].file_line;
    if (dup_opt(mem, &x[i].tag, src[i].tag) ||
        dup_opt(mem, &x[i].value, src[i].value))
      return SIPLINE_ERR_NOMEM;
  }
  return 0;
}

int sipline_profile_copy(sipline_profile **out, const sipline_profile *src,
                         const sipline_mem *mem) {
  if (!out)
    return SIPLINE_ERR_INVAL;
  *out = NULL;
  if (!src || !src->n_lines || !src->lines)
    return SIPLINE_ERR_INVAL;
  sipline_profile *p = sipline_mem_calloc(mem, 1, sizeof(*p));
  if (!p)
    return SIPLINE_ERR_NOMEM;
  *p = *src;
  p->mem = mem;
  p->lines = NULL;
  p->n_lines = 0;
  p->extra = p->warnings = NULL;
  p->n_extra = p->n_warnings = 0;
  p->resync_command = p->reboot_command = NULL;
  int rc = SIPLINE_ERR_NOMEM;
  p->lines = sipline_mem_calloc(mem, src->n_lines, sizeof(*p->lines));
  if (!p->lines)
    goto fail;
  p->n_lines = src->n_lines;
  for (unsigned i = 0; i < src->n_lines; i++) {
    const sipline_line_cfg *s = &src->lines[i];
    sipline_line_cfg *d = &p->lines[i];
    *d = *s;
    d->proxy = d->outbound_proxy = d->alt_proxy = d->alt_outbound_proxy =
        d->user_id = d->password = d->auth_id = d->display_name =
            d->answer_play = d->answer_record_dir = NULL;
    if (dup_opt(mem, &d->proxy, s->proxy) ||
        dup_opt(mem, &d->outbound_proxy, s->outbound_proxy) ||
        dup_opt(mem, &d->alt_proxy, s->alt_proxy) ||
        dup_opt(mem, &d->alt_outbound_proxy, s->alt_outbound_proxy) ||
        dup_opt(mem, &d->user_id, s->user_id) ||
        dup_opt(mem, &d->password, s->password) ||
        dup_opt(mem, &d->auth_id, s->auth_id) ||
        dup_opt(mem, &d->display_name, s->display_name) ||
        dup_opt(mem, &d->answer_play, s->answer_play) ||
        dup_opt(mem, &d->answer_record_dir, s->answer_record_dir))
      goto fail;
  }
  if (copy_extras(mem, &p->extra, &p->n_extra, src->extra, src->n_extra) ||
      copy_extras(mem, &p->warnings, &p->n_warnings, src->warnings,
                  src->n_warnings) ||
      dup_opt(mem, &p->resync_command, src->resync_command) ||
      dup_opt(mem, &p->reboot_command, src->reboot_command))
    goto fail;
  *out = p;
  return 0;
fail:
  sipline_profile_del(p);
  return rc;
}

const sipline_line_cfg *sipline_profile_line(const sipline_profile *p,
                                             unsigned n) {
  if (!p || n == 0 || n > p->n_lines)
    return NULL;
  return &p->lines[n - 1];
}

/*
 * Makes lines 1..n exist (with defaults). Arrays are always sized exactly
 * (no hidden capacity), so a profile copied field by field by someone else
 * stays valid for every function here.
 */
static int ensure_lines(sipline_profile *p, unsigned n) {
  if (n <= p->n_lines)
    return 0;
  sipline_line_cfg *v =
      sipline_mem_realloc(p->mem, p->lines, (size_t)n * sizeof(*v));
  if (!v)
    return SIPLINE_ERR_NOMEM;
  p->lines = v;
  for (unsigned i = p->n_lines; i < n; i++)
    line_defaults(&p->lines[i], i + 1);
  p->n_lines = n;
  return 0;
}

static int push_extra(sipline_profile *p, sipline_profile_extra **v,
                      unsigned *n, const char *tag, const char *value,
                      size_t vlen, unsigned file_line) {
  char *t = sipline__strdup(p->mem, tag);
  char *val = sipline__strndup(p->mem, value, vlen);
  sipline_profile_extra *x =
      t && val ? sipline_mem_realloc(p->mem, *v, (size_t)(*n + 1) * sizeof(*x))
               : NULL;
  if (!x) {
    sipline_mem_free(p->mem, t);
    sipline_mem_free(p->mem, val);
    return SIPLINE_ERR_NOMEM;
  }
  *v = x;
  x[*n] = (sipline_profile_extra){t, val, file_line};
  (*n)++;
  return 0;
}

/* ---- values -------------------------------------------------------------- */

static void copy_trunc(char *dst, size_t cap, const char *p, size_t n) {
  if (!cap)
    return;
  n = SIPLINE__MIN(n, cap - 1);
  memcpy(dst, p, n);
  dst[n] = '\0';
}

/*
 * Fills *err. The value is echoed as read (truncated, control characters
 * shown as '?') except for passwords, which are never echoed.
 */
static int fail(sipline_profile_error *err, int rc, const char *tag,
                sipline_pl val, unsigned line, const char *fmt, ...)
    SIPLINE__PRINTF(6, 7);
static int fail(sipline_profile_error *err, int rc, const char *tag,
                sipline_pl val, unsigned line, const char *fmt, ...) {
  if (!err)
    return rc;
  memset(err, 0, sizeof(*err));
  copy_trunc(err->tag, sizeof(err->tag), tag, strlen(tag));
  copy_trunc(err->value, sizeof(err->value), val.p ? val.p : "", val.len);
  for (char *c = err->value; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  err->file_line = line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->what, sizeof(err->what), fmt, ap);
  va_end(ap);
  return rc;
}

/* A printable rendering of a value for sentences (bounded, no controls). */
static const char *show(sipline_pl v, char *buf, size_t cap) {
  copy_trunc(buf, cap, v.p ? v.p : "", v.len);
  for (char *c = buf; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  return buf;
}

/* Seconds with up to three decimals ("0.5", "16", "1.250") to ms. */
static int parse_ms(sipline_pl v, uint64_t *out) {
  size_t i = 0;
  uint64_t whole = 0, frac = 0;
  unsigned nd = 0, nf = 0;
  for (; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++, nd++) {
    if (nd >= 12)
      return SIPLINE_ERR_RANGE;
    whole = whole * 10 + (uint64_t)(v.p[i] - '0');
  }
  if (i < v.len && v.p[i] == '.') {
    i++;
    for (; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++, nf++) {
      if (nf >= 3)
        return SIPLINE_ERR_MALFORMED;
      frac = frac * 10 + (uint64_t)(v.p[i] - '0');
    }
    if (nf == 0)
      return SIPLINE_ERR_MALFORMED;
  }
  if (i != v.len || (nd == 0 && nf == 0))
    return SIPLINE_ERR_MALFORMED;
  while (nf < 3) {
    frac *= 10;
    nf++;
  }
  *out = whole * 1000 + frac;
  return 0;
}

/*
 * Applies one value to the field d describes (l is the line for per-line
 * tags, NULL for globals). tag is the full tag name, for errors.
 */
static int apply(sipline_profile *p, const tagdef *d, sipline_line_cfg *l,
                 const char *tag, sipline_pl raw, unsigned fline,
                 sipline_profile_error *err) {
  void *base = l ? (void *)l : (void *)p;
  char *f = (char *)base + d->off;
  /* Surrounding whitespace is layout, for passwords too (the vendor's web
   * page trims them the same way). */
  sipline_pl v = sipline_pl_trim(raw);
  char sb[64];
  if (v.len == 0) {
    /* An empty element means "not set": the default applies. */
    field_default(p, d, l);
    return 0;
  }
  switch (d->k) {
  case K_STR:
  case K_TEXT:
  case K_CMD:
  case K_PASS: {
    for (size_t i = 0; i < v.len; i++) {
      unsigned char c = (unsigned char)v.p[i];
      if (c < 0x20 || c == 0x7f || (d->k == K_STR && (c == ' ' || c == '\t'))) {
        if (d->k == K_PASS)
          return fail(err, SIPLINE_ERR_CONFIG, tag, SIPLINE_PL(""), fline,
                      "%s: the password contains a control character", tag);
        return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline,
                    "%s: '%s' contains %s", tag, show(v, sb, sizeof(sb)),
                    c == ' ' || c == '\t' ? "whitespace"
                                          : "a control character");
      }
    }
    char *s = sipline__strndup(p->mem, v.p, v.len);
    if (!s)
      return SIPLINE_ERR_NOMEM;
    char **dst = (char **)(void *)f;
    if (*dst && d->k == K_PASS)
      memset(*dst, 0, strlen(*dst));
    sipline_mem_free(p->mem, *dst);
    *dst = s;
    return 0;
  }
  case K_BOOL: {
    int b;
    if (sipline_pl_casecmp_str(v, "yes"))
      b = 1;
    else if (sipline_pl_casecmp_str(v, "no"))
      b = 0;
    else
      return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline,
                  "%s: '%s' is not Yes or No", tag, show(v, sb, sizeof(sb)));
    memcpy(f, &b, sizeof(b));
    return 0;
  }
  case K_TP: {
    sipline_transport t;
    if (sipline_pl_casecmp_str(v, "udp"))
      t = SIPLINE_TP_UDP;
    else if (sipline_pl_casecmp_str(v, "tcp"))
      t = SIPLINE_TP_TCP;
    else if (sipline_pl_casecmp_str(v, "tls"))
      t = SIPLINE_TP_TLS;
    else if (sipline_pl_casecmp_str(v, "auto"))
      t = SIPLINE_TP_AUTO;
    else
      return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline,
                  "%s: '%s' is not UDP, TCP, TLS or Auto", tag,
                  show(v, sb, sizeof(sb)));
    memcpy(f, &t, sizeof(t));
    return 0;
  }
  case K_OFFU32:
    if (!v.len || sipline_pl_casecmp_str(v, "No") ||
        sipline_pl_casecmp_str(v, "Off")) {
      uint32_t u = UINT32_MAX;
      memcpy(f, &u, sizeof(u));
      break;
    }
    /* fall through */
  case K_U32:
  case K_PORT: {
    uint64_t x;
    int rc = sipline_pl_u64(v, UINT64_MAX, &x);
    if (rc == SIPLINE_ERR_MALFORMED)
      return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline,
                  "%s: '%s' is not a whole number", tag,
                  show(v, sb, sizeof(sb)));
    if (rc || x > d->max)
      return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline, "%s: %s is above %u",
                  tag, show(v, sb, sizeof(sb)), (unsigned)d->max);
    if (x < d->min)
      return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline, "%s: %s is below %u",
                  tag, show(v, sb, sizeof(sb)), (unsigned)d->min);
    if (d->k == K_PORT) {
      uint16_t u = (uint16_t)x;
      memcpy(f, &u, sizeof(u));
    } else {
      uint32_t u = (uint32_t)x;
      memcpy(f, &u, sizeof(u));
    }
    return 0;
  }
  case K_MS: {
    uint64_t ms;
    int rc = parse_ms(v, &ms);
    if (rc == SIPLINE_ERR_MALFORMED)
      return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline,
                  "%s: '%s' is not a number of seconds (up to 3 decimals)", tag,
                  show(v, sb, sizeof(sb)));
    if (rc || ms > d->max)
      return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline,
                  "%s: %s s is above %u.%03u s", tag, show(v, sb, sizeof(sb)),
                  (unsigned)d->max / 1000, (unsigned)d->max % 1000);
    if (ms < d->min)
      return fail(err, SIPLINE_ERR_CONFIG, tag, v, fline,
                  "%s: %s s is below %u.%03u s", tag, show(v, sb, sizeof(sb)),
                  (unsigned)d->min / 1000, (unsigned)d->min % 1000);
    uint32_t u = (uint32_t)ms;
    memcpy(f, &u, sizeof(u));
    return 0;
  }
  case K_RSC: {
    char *s = sipline__strndup(p->mem, v.p, v.len);
    if (!s)
      return SIPLINE_ERR_NOMEM;
    sipline_rsc r;
    unsigned ninv = 0;
    char bad[16];
    sipline_rsc_parse(s, &r, &ninv, bad, sizeof(bad));
    sipline_mem_free(p->mem, s);
    if (ninv) {
      /* R8: reported once, then ignored. */
      char msg[200];
      char bs[24];
      snprintf(msg, sizeof(msg),
               "%s: token '%s' is not three digits or '?'; ignored "
               "(%u invalid token%s)",
               tag, show(sipline_pl_str(bad), bs, sizeof(bs)), ninv,
               ninv == 1 ? "" : "s");
      int rc = push_extra(p, &p->warnings, &p->n_warnings, tag, msg,
                          strlen(msg), fline);
      if (rc)
        return rc;
    }
    memcpy(f, &r, sizeof(r));
    return 0;
  }
  }
  return SIPLINE_ERR_INVAL;
}

/*
 * Splits "Proxy_12_" into base "Proxy" and line 12. Returns 1 when the tag
 * has the per-line shape (n may still be out of range: *n = 0 then).
 */
static int split_line_tag(const char *tag, size_t len, size_t *base_len,
                          unsigned *n) {
  if (len < 4 || tag[len - 1] != '_')
    return 0;
  size_t i = len - 1;
  while (i > 0 && tag[i - 1] >= '0' && tag[i - 1] <= '9')
    i--;
  size_t ndig = len - 1 - i;
  if (ndig == 0 || i < 2 || tag[i - 1] != '_')
    return 0;
  *base_len = i - 1;
  uint64_t v = 0;
  if (ndig > 7 || tag[i] == '0') {
    *n = 0;
    return 1;
  }
  for (size_t k = i; k < len - 1; k++)
    v = v * 10 + (uint64_t)(tag[k] - '0');
  *n = v <= SIPLINE_PROFILE_MAX_LINES ? (unsigned)v : 0;
  return 1;
}

static int set_tag(sipline_profile *p, const char *tag, sipline_pl value,
                   unsigned fline, sipline_profile_error *err) {
  size_t len = strlen(tag);
  size_t blen;
  unsigned n;
  if (split_line_tag(tag, len, &blen, &n)) {
    for (size_t i = 0; i < SIPLINE__ARRAY_LEN(line_tags); i++) {
      const tagdef *d = &line_tags[i];
      if (strlen(d->name) != blen || memcmp(d->name, tag, blen) != 0)
        continue;
      if (n == 0)
        return fail(err, SIPLINE_ERR_CONFIG, tag,
                    d->k == K_PASS ? SIPLINE_PL("") : value, fline,
                    "%s: the line number is not between 1 and %u", tag,
                    SIPLINE_PROFILE_MAX_LINES);
      /* A bad value must not leave new (default) lines behind. */
      unsigned had = p->n_lines;
      int rc = ensure_lines(p, n);
      if (rc)
        return rc;
      rc = apply(p, d, &p->lines[n - 1], tag, value, fline, err);
      if (rc)
        p->n_lines = SIPLINE__MAX(had, 1u);
      return rc;
    }
  } else {
    for (size_t i = 0; i < SIPLINE__ARRAY_LEN(global_tags); i++) {
      const tagdef *d = &global_tags[i];
      if (strcmp(d->name, tag) == 0)
        return apply(p, d, NULL, tag, value, fline, err);
    }
  }
  /* Unknown: kept as read (trimmed) for the caller to report. */
  sipline_pl v = sipline_pl_trim(value);
  return push_extra(p, &p->extra, &p->n_extra, tag, v.p, v.len, fline);
}

int sipline_profile_set(sipline_profile *p, const char *tag, const char *value,
                        sipline_profile_error *err) {
  if (err)
    memset(err, 0, sizeof(*err));
  if (!p || !tag || !*tag)
    return SIPLINE_ERR_INVAL;
  if (strlen(tag) >= MAX_TAG)
    return fail(err, SIPLINE_ERR_CONFIG, "", SIPLINE_PL(""), 0,
                "a tag name is longer than %u characters", MAX_TAG - 1);
  sipline_pl v = sipline_pl_str(value);
  if (v.len > MAX_VALUE)
    return fail(err, SIPLINE_ERR_CONFIG, tag, SIPLINE_PL(""), 0,
                "%s: the value is longer than %u bytes", tag, MAX_VALUE);
  return set_tag(p, tag, v, 0, err);
}

/* ---- the XML reader ------------------------------------------------------ */

typedef struct pstate {
  XML_Parser xp;
  sipline_profile *p;
  sipline_profile_error *err;
  int rc;
  unsigned depth;
  int has_child[SIPLINE_PROFILE_MAX_DEPTH + 1];
  unsigned start_line[SIPLINE_PROFILE_MAX_DEPTH + 1];
  char tag[MAX_TAG];
  int tag_ok; /* tag holds the innermost open element's name */
  sipline__buf text;
} pstate;

static void stop(pstate *s, int rc) {
  if (s->rc == 0)
    s->rc = rc;
  XML_StopParser(s->xp, XML_FALSE);
}

static unsigned cur_line(pstate *s) {
  return (unsigned)XML_GetCurrentLineNumber(s->xp);
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **atts) {
  pstate *s = sipline__xml_ud(ud);
  (void)atts; /* ua="na" and friends mean nothing to us */
  if (s->rc)
    return;
  if (s->depth >= SIPLINE_PROFILE_MAX_DEPTH) {
    stop(s, fail(s->err, SIPLINE_ERR_TOOBIG, name, SIPLINE_PL(""), cur_line(s),
                 "elements nested deeper than %u", SIPLINE_PROFILE_MAX_DEPTH));
    return;
  }
  if (s->depth == 0 && strcmp(name, "flat-profile") != 0 &&
      strcmp(name, "device") != 0) {
    stop(s,
         fail(s->err, SIPLINE_ERR_MALFORMED, name, SIPLINE_PL(""), cur_line(s),
              "the root element is <%.60s>, expected <flat-profile>", name));
    return;
  }
  if (s->depth > 0)
    s->has_child[s->depth] = 1;
  s->depth++;
  s->has_child[s->depth] = 0;
  s->start_line[s->depth] = cur_line(s);
  size_t n = strlen(name);
  if (n >= MAX_TAG) {
    stop(s, fail(s->err, SIPLINE_ERR_TOOBIG, "", SIPLINE_PL(""), cur_line(s),
                 "a tag name is longer than %u characters", MAX_TAG - 1));
    return;
  }
  memcpy(s->tag, name, n + 1);
  s->tag_ok = 1;
  sipline__buf_reset(&s->text);
}

static void XMLCALL on_text(void *ud, const XML_Char *t, int len) {
  pstate *s = sipline__xml_ud(ud);
  if (s->rc || s->depth < 2)
    return;
  /* Text around child elements belongs to a group; only leaves matter. */
  if (s->has_child[s->depth])
    return;
  if (s->text.len + (size_t)len > MAX_VALUE) {
    stop(s, fail(s->err, SIPLINE_ERR_TOOBIG, s->tag, SIPLINE_PL(""),
                 s->start_line[s->depth],
                 "%s: the value is longer than %u "
                 "bytes",
                 s->tag, MAX_VALUE));
    return;
  }
  sipline__buf_append(&s->text, t, (size_t)len);
  if (s->text.err)
    stop(s, SIPLINE_ERR_NOMEM);
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
  pstate *s = sipline__xml_ud(ud);
  if (s->rc)
    return;
  /* A leaf below the root is a parameter; elements with children are only
   * containers (<device><flat-profile>...). */
  if (s->depth >= 2 && !s->has_child[s->depth]) {
    sipline_pl v = {s->text.p ? s->text.p : "", s->text.len};
    int rc = set_tag(s->p, name, v, s->start_line[s->depth], s->err);
    if (rc) {
      stop(s, rc);
      return;
    }
  }
  sipline__buf_reset(&s->text);
  s->depth--;
}

static void on_refuse(void *ud, sipline__xml_refusal what, const char *name) {
  pstate *s = ud;
  if (!name)
    name = "";
  if (what == SIPLINE__XML_DOCTYPE)
    stop(s, fail(s->err, SIPLINE_ERR_MALFORMED, "", SIPLINE_PL(""), cur_line(s),
                 "a DOCTYPE (<!DOCTYPE %.40s>) is not allowed", name));
  else
    stop(s, fail(s->err, SIPLINE_ERR_MALFORMED, "", SIPLINE_PL(""), cur_line(s),
                 "an entity declaration (%.40s) is not allowed", name));
}

/* Checks that need the whole profile. */
static int check_profile(sipline_profile *p, sipline_profile_error *err) {
  if (p->reg_min_expires > p->reg_max_expires) {
    char v[32];
    snprintf(v, sizeof(v), "%u", (unsigned)p->reg_min_expires);
    return fail(err, SIPLINE_ERR_CONFIG, "Reg_Min_Expires", sipline_pl_str(v),
                0, "Reg_Min_Expires: %u is above Reg_Max_Expires (%u)",
                (unsigned)p->reg_min_expires, (unsigned)p->reg_max_expires);
  }
  return 0;
}

int sipline_profile_parse(sipline_profile **out, const char *xml, size_t len,
                          const sipline_mem *mem, sipline_profile_error *err) {
  if (err)
    memset(err, 0, sizeof(*err));
  if (!out || (!xml && len))
    return SIPLINE_ERR_INVAL;
  *out = NULL;
  if (len > SIPLINE_PROFILE_MAX_SIZE)
    return fail(err, SIPLINE_ERR_TOOBIG, "", SIPLINE_PL(""), 0,
                "the profile is %zu bytes, more than the %u allowed", len,
                SIPLINE_PROFILE_MAX_SIZE);
  sipline_profile *p;
  int rc = sipline_profile_new(&p, mem);
  if (rc)
    return rc;

  pstate s;
  memset(&s, 0, sizeof(s));
  s.p = p;
  s.err = err;
  sipline__buf_init(&s.text, mem);
  sipline__xml x;
  if (sipline__xml_open(&x, mem, &s, on_refuse)) {
    rc = SIPLINE_ERR_NOMEM;
    goto out;
  }
  s.xp = x.xp;
  XML_SetElementHandler(s.xp, on_start, on_end);
  XML_SetCharacterDataHandler(s.xp, on_text);

  enum XML_Status st = XML_Parse(s.xp, xml ? xml : "", (int)len, 1);
  if (s.rc) {
    rc = s.rc;
  } else if (st != XML_STATUS_OK) {
    enum XML_Error e = XML_GetErrorCode(s.xp);
    rc = e == XML_ERROR_NO_MEMORY ? SIPLINE_ERR_NOMEM : SIPLINE_ERR_MALFORMED;
    if (rc == SIPLINE_ERR_MALFORMED)
      fail(err, rc, "", SIPLINE_PL(""), cur_line(&s),
           "XML error at line %u: %s", cur_line(&s), XML_ErrorString(e));
  } else if (s.depth != 0) {
    rc = fail(err, SIPLINE_ERR_MALFORMED, "", SIPLINE_PL(""), cur_line(&s),
              "the document ends inside an element");
  } else {
    rc = check_profile(p, err);
  }
out:
  sipline__xml_close(&x);
  sipline__buf_free(&s.text);
  if (rc) {
    sipline_profile_del(p);
    return rc;
  }
  *out = p;
  return 0;
}
