/*
 * tests/fuzz/fuzz_top_sim.c: the timeline fuzzer (issue 3 item 6).
 *
 * Drives one UA (a line with three proxies in a static SRV list, optionally
 * an alternate for dual registration) with fuzzer-chosen responses (status
 * codes, Retry-After, Min-Expires, silence, transport errors), calls and
 * non-decreasing times, and checks the invariants of SPEC R1-R13:
 *
 *  I1. never two current registrations unless Dual Registration (R4, R11);
 *  I2. never a REGISTER to a DOWN server before its time: with Proxy
 *      Fallback Intvl != 0 a DOWN server gets no REGISTER while another
 *      server is UP (R6, R11: fallback marks it UP first);
 *  I3. no request lost: the time never stalls (a deadline in the past is
 *      served), and after the fuzzer's part, with every proxy answering,
 *      the line ends registered: a transaction that never ended (no
 *      response, timeout or transport error reaching the policy) would
 *      leave it stuck.
 *
 * The first bytes choose the profile; the rest is a list of operations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sipline/profile.h"
#include "sipline/ua.h"

typedef struct rd {
  const uint8_t *p;
  size_t n;
} rd;

static unsigned next(rd *r) {
  if (!r->n)
    return 0;
  r->n--;
  return *r->p++;
}

#define MAXPEND 64
typedef struct pend {
  sipline_path path;
  char *msg;
  size_t len;
} pend;

typedef struct fz {
  sipline_ua *ua;
  sipline_tstamp now;
  pend q[MAXPEND];
  unsigned nq;
  int dual;
  int fallback_on;
  unsigned calls[8];
  unsigned ncalls;
  int auto_answer; /* phase 2: every request answered */
} fz;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "INVARIANT: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  abort();
}

/* A header line's value from a message ("" when absent). */
static int header(const char *msg, size_t len, const char *name,
                  const char *compact, const char **v, size_t *vl) {
  const char *p = msg, *e = msg + len;
  size_t nl = strlen(name), cl = compact ? strlen(compact) : 0;
  while (p < e) {
    const char *eol = memchr(p, '\n', (size_t)(e - p));
    if (!eol)
      break;
    if (eol - p <= 1)
      break; /* end of headers */
    if (((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 &&
         p[nl] == ':') ||
        (cl && (size_t)(eol - p) > cl + 1 && strncasecmp(p, compact, cl) == 0 &&
         p[cl] == ':')) {
      const char *s = (const char *)memchr(p, ':', (size_t)(eol - p)) + 1;
      while (*s == ' ')
        s++;
      *v = s;
      *vl = (size_t)(eol - s);
      if (*vl && s[*vl - 1] == '\r')
        (*vl)--;
      return 1;
    }
    p = eol + 1;
  }
  return 0;
}

static unsigned req_expires(const char *msg, size_t len) {
  const char *v;
  size_t vl;
  if (header(msg, len, "Contact", "m", &v, &vl)) {
    for (size_t i = 0; i + 8 < vl; i++)
      if (strncasecmp(v + i, "expires=", 8) == 0)
        return (unsigned)strtoul(v + i + 8, NULL, 10);
  }
  if (header(msg, len, "Expires", NULL, &v, &vl))
    return (unsigned)strtoul(v, NULL, 10);
  return 3600;
}

static void drain(fz *f);
static void note_challenge(const pend *r);

/* FUZZ_TRACE=1 in the environment prints the timeline (to debug a
   finding). */
static int trace;

static void deliver(fz *f, const sipline_path *p, const char *m, size_t n) {
  if (trace)
    fprintf(stderr, "%8.3f rx %.12s\n", (double)f->now / 1000, m);
  sipline_ua_recv(f->ua, p, (const uint8_t *)m, n, f->now);
  drain(f);
}

/* Answers a request with code (and extras chosen by x). */
static void answer(fz *f, const pend *r, int code, unsigned x) {
  static char out[4096];
  size_t o = 0;
  const char *m = r->msg;
  size_t len = r->len;
  o += (size_t)snprintf(out + o, sizeof out - o, "SIP/2.0 %d X\r\n", code);
  const char *p = m, *e = m + len;
  /* Copy Via (every one), From, To, Call-ID and CSeq lines. */
  while (p < e && o < sizeof out - 512) {
    const char *eol = memchr(p, '\n', (size_t)(e - p));
    if (!eol || eol - p <= 1)
      break;
    size_t ll = (size_t)(eol - p) + 1;
    if (strncasecmp(p, "Via:", 4) == 0 || strncasecmp(p, "v:", 2) == 0 ||
        strncasecmp(p, "From:", 5) == 0 || strncasecmp(p, "f:", 2) == 0 ||
        strncasecmp(p, "Call-ID:", 8) == 0 || strncasecmp(p, "i:", 2) == 0 ||
        strncasecmp(p, "CSeq:", 5) == 0) {
      memcpy(out + o, p, ll);
      o += ll;
    } else if (strncasecmp(p, "To:", 3) == 0 || strncasecmp(p, "t:", 2) == 0) {
      size_t l2 = ll;
      while (l2 && (p[l2 - 1] == '\n' || p[l2 - 1] == '\r'))
        l2--;
      memcpy(out + o, p, l2);
      o += l2;
      int tagged = 0;
      for (size_t i = 0; i + 4 < l2; i++)
        if (strncasecmp(p + i, ";tag=", 5) == 0)
          tagged = 1;
      o += (size_t)snprintf(out + o, sizeof out - o, "%s\r\n",
                            tagged ? "" : ";tag=fz1");
    }
    p = eol + 1;
  }
  int is_reg = len > 8 && memcmp(m, "REGISTER", 8) == 0;
  if (is_reg && (code == 401 || code == 407))
    note_challenge(r);
  if (code == 401)
    o += (size_t)snprintf(out + o, sizeof out - o,
                          "WWW-Authenticate: Digest realm=\"fz\", "
                          "nonce=\"n%u\", qop=\"auth\"\r\n", x);
  if (code == 407)
    o += (size_t)snprintf(out + o, sizeof out - o,
                          "Proxy-Authenticate: Digest realm=\"fz\", "
                          "nonce=\"p%u\"\r\n", x);
  if (code == 423)
    o += (size_t)snprintf(out + o, sizeof out - o, "Min-Expires: %u\r\n",
                          (x & 1) ? 3600 : 7200);
  if (code / 100 >= 4 && (x & 2))
    o += (size_t)snprintf(out + o, sizeof out - o, "Retry-After: %u\r\n",
                          x % 200);
  if (code / 100 == 2 && is_reg) {
    unsigned ex = req_expires(m, len);
    if (x & 4)
      ex = ex > 200 ? ex / 2 : ex;
    o += (size_t)snprintf(out + o, sizeof out - o,
                          "Contact: <sip:1001@192.0.2.10>;expires=%u\r\n", ex);
  }
  if (code / 100 == 2 && len > 6 && memcmp(m, "INVITE", 6) == 0)
    o += (size_t)snprintf(out + o, sizeof out - o,
                          "Contact: <sip:far@10.0.0.1:5060>\r\n");
  o += (size_t)snprintf(out + o, sizeof out - o, "Content-Length: 0\r\n\r\n");
  deliver(f, &r->path, out, o);
}

static void check_registrations(fz *f) {
  sipline_line_status st;
  if (sipline_ua_line_status(f->ua, 1, &st) < 0)
    return;
  unsigned n = 0;
  for (unsigned i = 0; i < st.n_servers && i < SIPLINE_MAX_SERVERS; i++)
    n += st.servers[i].registered ? 1 : 0;
  if (n > (f->dual ? 2u : 1u))
    die("I1: two current registrations without dual registration",
        st.current);
}

/* The top Via's branch, hashed (retransmissions reuse it). */
static uint64_t branch_of(const char *m, size_t n) {
  const char *v;
  size_t vl;
  uint64_t h = 1469598103934665603ull;
  if (!header(m, n, "Via", "v", &v, &vl))
    return 0;
  for (size_t i = 0; i + 7 < vl; i++)
    if (strncasecmp(v + i, "branch=", 7) == 0) {
      for (size_t j = i + 7; j < vl && v[j] != ';' && v[j] != ','; j++) {
        h ^= (unsigned char)v[j];
        h *= 1099511628211ull;
      }
      return h;
    }
  return 0;
}

/* Call-ID of a REGISTER we challenged (401/407), with the server: the
   REGISTER that answers the challenge continues an attempt made before. */
static uint64_t callid_of(const char *m, size_t n) {
  const char *v;
  size_t vl;
  uint64_t h = 1469598103934665603ull;
  if (!header(m, n, "Call-ID", "i", &v, &vl))
    return 0;
  for (size_t j = 0; j < vl; j++) {
    h ^= (unsigned char)v[j];
    h *= 1099511628211ull;
  }
  return h;
}
#define NCHAL 64
static struct {
  uint64_t callid;
  sipline_addr to;
} chal[NCHAL];
static unsigned nchal;

static void note_challenge(const pend *r) {
  chal[nchal % NCHAL].callid = callid_of(r->msg, r->len);
  chal[nchal % NCHAL].to = r->path.remote;
  nchal++;
}

static int answers_challenge(const sipline_path *p, const char *m, size_t n) {
  const char *v;
  size_t vl;
  if (!header(m, n, "Authorization", NULL, &v, &vl) &&
      !header(m, n, "Proxy-Authorization", NULL, &v, &vl))
    return 0;
  uint64_t c = callid_of(m, n);
  for (unsigned i = 0; i < nchal && i < NCHAL; i++)
    if (chal[i].callid == c && sipline_addr_eq(&chal[i].to, &p->remote))
      return 1;
  return 0;
}

#define NSEEN 512
static uint64_t seen[NSEEN];
static unsigned nseen;

/* 1 when this branch was sent before (a retransmission). */
static int seen_before(uint64_t b) {
  for (unsigned i = 0; i < nseen && i < NSEEN; i++)
    if (seen[i] == b)
      return 1;
  seen[nseen++ % NSEEN] = b;
  return 0;
}

/* I2: a REGISTER (expires > 0) about to go to path's server. Only a new
   transaction counts: a retransmission belongs to a decision made before
   the server went DOWN. */
static void check_register_target(fz *f, const sipline_path *p,
                                  const char *m, size_t n) {
  unsigned expires = req_expires(m, n);
  if (!f->fallback_on || expires == 0 || seen_before(branch_of(m, n)))
    return;
  /* The credentials round of an attempt that began before the DOWN mark
     (RFC 3261 §22.2) is not a new decision of the policy. It can leave a
     binding the line no longer tracks; see the report of issue 3. */
  if (answers_challenge(p, m, n))
    return;
  sipline_line_status st;
  if (sipline_ua_line_status(f->ua, 1, &st) < 0)
    return;
  char to[80];
  sipline_addr_format(&p->remote, to, sizeof to);
  /* The alternate's own binding (R4) is retried as R12 says; R6 is about
     the ordered list of the main registration. */
  if (strcmp(to, "10.0.0.9:5060") == 0)
    return;
  int target_down = 0, any_up = 0;
  for (unsigned i = 0; i < st.n_servers && i < SIPLINE_MAX_SERVERS; i++) {
    if (strcmp(st.servers[i].addr, to) == 0 && !st.servers[i].up)
      target_down = 1;
    if (st.servers[i].up && strcmp(st.servers[i].addr, "10.0.0.9:5060"))
      any_up = 1;
  }
  if (target_down && any_up)
    die("I2: REGISTER to a DOWN server while another is UP", to);
}

static void drain(fz *f) {
  for (;;) {
    int progress = 0;
    sipline_path p;
    const uint8_t *d;
    ptrdiff_t n;
    while ((n = sipline_ua_pull_tx(f->ua, &p, &d, f->now)) >= 0) {
      progress = 1;
      if (trace) {
        char to[80];
        sipline_addr_format(&p.remote, to, sizeof to);
        const char *eol = memchr(d, '\r', (size_t)n);
        fprintf(stderr, "%8.3f tx %s %.*s\n", (double)f->now / 1000, to,
                eol ? (int)(eol - (const char *)d) : 0, (const char *)d);
      }
      if (n < 8 || memcmp(d, "SIP/2.0 ", 8) == 0 || memcmp(d, "ACK ", 4) == 0)
        continue; /* responses, ACKs and keep-alives need no answer */
      if (memcmp(d, "REGISTER", 8) == 0)
        check_register_target(f, &p, (const char *)d, (size_t)n);
      if (f->nq == MAXPEND) {
        free(f->q[0].msg);
        memmove(f->q, f->q + 1, (MAXPEND - 1) * sizeof(pend));
        f->nq--;
      }
      pend *r = &f->q[f->nq++];
      r->path = p;
      r->msg = malloc((size_t)n + 1);
      memcpy(r->msg, d, (size_t)n);
      r->msg[n] = 0; /* for strstr */
      r->len = (size_t)n;
    }
    sipline_event ev;
    while (sipline_ua_poll_event(f->ua, &ev) == 1) {
      progress = 1;
      if (trace)
        fprintf(stderr, "%8.3f ev %s line=%u server=%s from=%s to=%s "
                "reason=%s state=%s\n", (double)f->now / 1000,
                sipline_event_name(ev.type), ev.line, ev.server, ev.from,
                ev.to, ev.reason, ev.state);
      if (ev.type == SIPLINE_EV_DNS_QUERY)
        sipline_ua_dns_answer(f->ua, ev.id, NULL, 0, f->now);
    }
    check_registrations(f);
    if (!progress)
      break;
  }
}

static void pop(fz *f, pend *out) {
  *out = f->q[0];
  memmove(f->q, f->q + 1, (f->nq - 1) * sizeof(pend));
  f->nq--;
}

static void advance(fz *f, sipline_tstamp to) {
  /* Serve every deadline on the way, in order: the core must never be
     asked to skip one. */
  unsigned guard = 0;
  for (;;) {
    sipline_tstamp d = sipline_ua_next_deadline(f->ua);
    if (d > to)
      break;
    if (d > f->now)
      f->now = d;
    sipline_ua_handle_timeout(f->ua, f->now);
    drain(f);
    if (f->auto_answer) {
      while (f->nq) {
        pend r;
        pop(f, &r);
        int authed = strstr(r.msg, "\nAuthorization:") != NULL ||
                     strstr(r.msg, "\nauthorization:") != NULL;
        answer(f, &r, memcmp(r.msg, "REGISTER", 8) == 0 && !authed ? 401
                                                                   : 200,
               0);
        free(r.msg);
      }
    }
    if (++guard > 200000)
      die("I3: the core's deadline does not advance", NULL);
  }
  if (to > f->now)
    f->now = to;
}

static const int codes[] = {100, 180, 200, 202, 302, 401, 401, 403, 404,
                            407, 408, 423, 480, 486, 500, 503, 503, 504,
                            600, 603};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rd r = {data, size};
  trace = getenv("FUZZ_TRACE") != NULL;
  nseen = 0;
  nchal = 0;
  sipline_profile *pf = NULL;
  if (sipline_profile_new(&pf, NULL) < 0)
    return 0;
  unsigned c0 = next(&r), c1 = next(&r);
  /* Grants under 73 s (refresh at expiry - Timer F, whose timeout falls
     due as the binding expires: tests/sim/scenarios/
     R12-expiry-meets-timeout.json) and under Timer F (the timeout comes
     after the expiry) are in: bit 6 of c0 picks them. */
  static const char *exp_v[] = {"600", "300", "3600", "1200",
                                "60",  "10",  "72",   "30"};
  static const char *fb_v[] = {"0", "100", "600", "3600"};
  int dual = (c0 >> 4) & 1;
  int fallback_on = ((c0 >> 2) & 3) != 0;
  const char *keys[][2] = {
      {"User_ID_1_", "1001"},
      {"Password_1_", "pw"},
      {"Proxy_1_", "10.0.0.1:5060:p=0|10.0.0.2:5060:p=1|10.0.0.3:5060:p=2"},
      {"Register_Expires_1_", exp_v[(c0 & 3) | ((c0 >> 4) & 4)]},
      {"Proxy_Fallback_Intvl_1_", fb_v[(c0 >> 2) & 3]},
      {"Dual_Registration_1_", dual ? "Yes" : "No"},
      {"Alternate_Proxy_1_", "10.0.0.9:5060"},
      {"Auto_Register_When_Failover_1_", (c0 >> 5) & 1 ? "No" : "Yes"},
      {"Try_Backup_RSC", (c1 & 1) ? "5??,6??" : ""},
      {"Retry_Reg_RSC", (c1 & 2) ? "503,408" : ""},
      {"Reg_Retry_Random_Delay", (c1 & 4) ? "5" : "0"},
      {"Reg_Retry_Intvl_Cap", (c1 & 8) ? "240" : "0"},
      {"SIP_Transport_1_", (c1 & 16) ? "TCP" : "UDP"},
  };
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (sipline_profile_set(pf, keys[i][0], keys[i][1], NULL) < 0) {
      sipline_profile_del(pf);
      return 0;
    }
  fz f;
  memset(&f, 0, sizeof f);
  /* Dual registration is UDP only (R4): with TCP the alternate is ignored. */
  f.dual = dual && !(c1 & 16);
  f.fallback_on = fallback_on;
  sipline_settings st = {.profile = pf, .seed = 1 + c1};
  if (sipline_ua_new(&f.ua, &st, NULL, NULL) < 0) {
    sipline_profile_del(pf);
    return 0;
  }
  sipline_profile_del(pf);
  sipline_ua_start(f.ua, 0);
  drain(&f);
  while (r.n) {
    unsigned op = next(&r);
    if (trace)
      fprintf(stderr, "%8.3f op %u (pending %u)\n", (double)f.now / 1000,
              op & 7, f.nq);
    switch (op & 7) {
    case 0:
    case 1:
    case 2:
      if (f.nq) {
        pend q;
        pop(&f, &q);
        answer(&f, &q, codes[next(&r) % (sizeof codes / sizeof codes[0])],
               next(&r));
        free(q.msg);
      }
      break;
    case 3: /* silence: the request is dropped */
      if (f.nq) {
        pend q;
        pop(&f, &q);
        free(q.msg);
      }
      break;
    case 4: /* a transport error on the request's path */
      if (f.nq) {
        pend q;
        pop(&f, &q);
        int why = q.path.tp == SIPLINE_TP_UDP ? SIPLINE_TPERR_UNREACHABLE
                  : (op & 8)                  ? SIPLINE_TPERR_CLOSED
                                              : SIPLINE_TPERR_REFUSED;
        sipline_ua_transport_error(f.ua, &q.path, why, f.now);
        drain(&f);
        free(q.msg);
      }
      break;
    case 5:
      advance(&f, f.now + (sipline_tstamp)next(&r) * 20);
      break;
    case 6:
      if ((op & 8) && f.ncalls) {
        sipline_ua_hangup(f.ua, f.calls[--f.ncalls], f.now);
      } else if (f.ncalls < 8) {
        unsigned id;
        if (sipline_ua_call(f.ua, &(sipline_call_params){.line = 1, .to = "1002"}, &id, f.now) == 0)
          f.calls[f.ncalls++] = id;
      }
      drain(&f);
      break;
    default:
      advance(&f, f.now + (sipline_tstamp)next(&r) * 5000);
      break;
    }
  }
  /* Phase 2 (I3): every proxy answers; 2 virtual hours later (more than
     Reg Retry Long Intvl, the longest wait) the line must be registered. */
  while (f.ncalls)
    sipline_ua_hangup(f.ua, f.calls[--f.ncalls], f.now);
  drain(&f);
  f.auto_answer = 1;
  for (unsigned i = 0; i < f.nq; i++)
    free(f.q[i].msg);
  f.nq = 0;
  advance(&f, f.now + SIPLINE_SEC(2 * 3600));
  sipline_line_status ls;
  if (sipline_ua_line_status(f.ua, 1, &ls) == 0 &&
      strcmp(ls.state, "registered") != 0)
    die("I3: the line is not registered after 2 h of answering proxies",
        ls.state);
  for (unsigned i = 0; i < f.nq; i++)
    free(f.q[i].msg);
  sipline_ua_del(f.ua);
  return 0;
}
