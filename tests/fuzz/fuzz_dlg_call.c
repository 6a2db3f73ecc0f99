/*
 * tests/fuzz/fuzz_dlg_call.c: two real UAs (A calls B) driven by the
 * fuzzer: which side does what (call, answer 180/183/200 reliably or not,
 * reject, UPDATE and re-INVITE with or without an offer, answer or refuse
 * a remote offer, hang up), when (virtual time jumps up to 70 s), and what
 * the network does (drop, duplicate, delay, reorder, and messages mutated
 * in flight: method, status, CSeq, SDP removed or added, Session-Expires,
 * Require: 100rel, RSeq, RAck, tags).
 *
 * Invariants checked beyond ASan/UBSan: after both UAs are shut down and
 * 300 virtual seconds pass, both are shut down (no call can be left
 * forever), and no dialog is left in either table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlg/dlg.h"
#include "sipline/ua.h"

static const char SDP1[] = "v=0\r\no=a 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
                           "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                           "m=audio 4000 RTP/AVP 0\r\n";
static const char SDP2[] = "v=0\r\no=b 2 2 IN IP4 10.0.0.2\r\ns=-\r\n"
                           "c=IN IP4 10.0.0.2\r\nt=0 0\r\n"
                           "m=audio 5000 RTP/AVP 8\r\na=sendonly\r\n";

typedef struct side {
  const char *ip, *peer;
  sipline_ua *ua;
  sipline_profile *p;
  unsigned call;       /* newest call id seen */
  int offer_pending;   /* a remote offer waits for us */
  int auto_answer;     /* answer remote offers at once */
} side;

typedef struct pkt {
  uint64_t at;
  int to; /* 0 = A, 1 = B */
  sipline_path path;
  size_t len;
  char data[4096];
} pkt;

static struct {
  side s[2];
  uint64_t now;
  pkt q[64];
  unsigned n_q;
  int drop_next, dup_next, mutate_next;
  uint32_t delay_next;
  const uint8_t *in;
  size_t n;
} F;

static unsigned take(unsigned mod) {
  if (!F.n)
    return 0;
  unsigned v = *F.in++;
  F.n--;
  return mod ? v % mod : v;
}

static int f_init(sipline_ua *ua, void **st) {
  (void)ua;
  *st = NULL;
  return 0;
}

static int f_target(sipline_ua *ua, void *st, unsigned line,
                    sipline__target *t) {
  (void)st;
  (void)line;
  side *s = ua == F.s[0].ua ? &F.s[0] : &F.s[1];
  memset(t, 0, sizeof *t);
  t->path.tp = SIPLINE_TP_UDP;
  sipline_addr_parse(s->peer, strlen(s->peer), &t->path.remote);
  t->path.remote.port = 5060;
  snprintf(t->domain, sizeof t->domain, "%s", s->peer);
  snprintf(t->server, sizeof t->server, "%s:5060", s->peer);
  return 0;
}

static const sipline__module fake_reg = {
    .name = "reg", .init = f_init, .line_target = f_target};

/* Replaces the first occurrence of `what` (up to the line end) with `by`. */
static void replace_line(pkt *p, const char *what, const char *by) {
  p->data[p->len] = 0;
  char *a = strstr(p->data, what);
  if (!a)
    return;
  char *e = strstr(a, "\r\n");
  if (!e)
    return;
  size_t head = (size_t)(a - p->data), tail = p->len - (size_t)(e - p->data);
  size_t bl = strlen(by);
  if (head + bl + tail >= sizeof p->data)
    return;
  memmove(p->data + head + bl, e, tail);
  memcpy(p->data + head, by, bl);
  p->len = head + bl + tail;
}

static void mutate(pkt *p) {
  static const char *const methods[] = {"INVITE", "UPDATE", "PRACK", "BYE",
                                        "ACK",    "INFO",   "CANCEL"};
  static const int codes[] = {100, 180, 183, 200, 401, 408, 422,
                              481, 488, 491, 500, 501, 603};
  char buf[160];
  switch (take(10)) {
  case 0: /* the method of a request */
    if (strncmp(p->data, "SIP/", 4) != 0) {
      const char *m = methods[take(7)];
      char *sp = memchr(p->data, ' ', p->len);
      if (sp) {
        size_t old = (size_t)(sp - p->data), nl = strlen(m);
        if (p->len - old + nl < sizeof p->data) {
          memmove(p->data + nl, sp, p->len - old);
          memcpy(p->data, m, nl);
          p->len = p->len - old + nl;
        }
      }
    }
    break;
  case 1: /* the status of a response */
    if (!strncmp(p->data, "SIP/2.0 ", 8)) {
      snprintf(buf, sizeof buf, "%03d", codes[take(13)]);
      memcpy(p->data + 8, buf, 3);
    }
    break;
  case 2:
    snprintf(buf, sizeof buf, "CSeq: %u", take(0) % 8);
    replace_line(p, "CSeq: ", buf); /* the method stays out: malformed */
    break;
  case 3:
    snprintf(buf, sizeof buf, "Session-Expires: %u;refresher=%s",
             take(0) * 4, take(2) ? "uac" : "uas");
    replace_line(p, "Max-Forwards: ", buf);
    break;
  case 4:
    replace_line(p, "Max-Forwards: ", "Require: 100rel");
    break;
  case 5:
    snprintf(buf, sizeof buf, "RSeq: %u", take(4));
    replace_line(p, "Max-Forwards: ", buf);
    break;
  case 6:
    snprintf(buf, sizeof buf, "RAck: %u %u INVITE", take(4), take(4));
    replace_line(p, "Max-Forwards: ", buf);
    break;
  case 7:
    replace_line(p, "Content-Type: ", "Content-Type: text/plain");
    break;
  case 8:
    replace_line(p, ";tag=", ";tag=x");
    break;
  default:
    replace_line(p, "Min-SE: ", "Min-SE: 3600");
    break;
  }
}

static void push(int to, const sipline_path *from_path, const uint8_t *d,
                 size_t n, const char *src_ip) {
  if (F.n_q == 64 || n >= sizeof F.q[0].data)
    return;
  pkt *p = &F.q[F.n_q++];
  p->at = F.now + 10 + F.delay_next;
  p->to = to;
  memset(&p->path, 0, sizeof p->path);
  p->path.tp = SIPLINE_TP_UDP;
  sipline_addr_parse(src_ip, strlen(src_ip), &p->path.remote);
  p->path.remote.port = 5060;
  (void)from_path;
  memcpy(p->data, d, n);
  p->len = n;
  if (F.mutate_next) {
    F.mutate_next--;
    mutate(p);
  }
}

/* FUZZ_DLG_TRACE=1: print what happens (to understand a finding). */
static int trace_on(void) {
  static int v = -1;
  if (v < 0)
    v = getenv("FUZZ_DLG_TRACE") != NULL;
  return v;
}

static void events(int i) {
  side *s = &F.s[i];
  sipline_event ev;
  while (sipline_ua_poll_event(s->ua, &ev)) {
    if (trace_on())
      fprintf(stderr, "%8.3f %c %s id=%u %s %s %s %d\n", (double)F.now / 1000,
              'A' + i, sipline_event_name(ev.type), ev.id, ev.state,
              ev.from, ev.reason, ev.status);
    if (ev.type == SIPLINE_EV_CALL) {
      s->call = ev.id;
    } else if (ev.type == SIPLINE_EV_CALL_SDP && !strcmp(ev.state, "offer") &&
               !strcmp(ev.from, "remote")) {
      if (ev.body && ev.body_len && ev.body[0] != 'v')
        abort(); /* the body is the SDP as it came */
      s->offer_pending = 1;
      if (s->auto_answer && strcmp(ev.reason, "invite"))
        sipline__dlg_sdp(s->ua, ev.id, i ? SDP2 : SDP1,
                         strlen(i ? SDP2 : SDP1), F.now);
    }
  }
}

static void pump(void) {
  for (int g = 0; g < 50; g++) {
    int any = 0;
    for (int i = 0; i < 2; i++) {
      events(i);
      sipline_path p;
      const uint8_t *d;
      ptrdiff_t n;
      while ((n = sipline_ua_pull_tx(F.s[i].ua, &p, &d, F.now)) >= 0) {
        any = 1;
        if (F.drop_next) {
          F.drop_next--;
          continue;
        }
        if (trace_on())
          fprintf(stderr, "%8.3f %c> %.*s\n", (double)F.now / 1000, 'A' + i,
                  (int)strcspn((const char *)d, "\r"), (const char *)d);
        push(!i, &p, d, (size_t)n, F.s[i].ip);
        if (F.dup_next) {
          F.dup_next--;
          push(!i, &p, d, (size_t)n, F.s[i].ip);
        }
        F.delay_next = 0;
      }
    }
    if (!any)
      return;
  }
}

static void advance(uint64_t until) {
  pump();
  for (int g = 0; g < 20000; g++) {
    uint64_t t = UINT64_MAX;
    int wi = -1;
    for (unsigned i = 0; i < F.n_q; i++)
      if (F.q[i].at < t) {
        t = F.q[i].at;
        wi = (int)i;
      }
    for (int i = 0; i < 2; i++) {
      uint64_t d = sipline_ua_next_deadline(F.s[i].ua);
      if (d < t) {
        t = d;
        wi = -1;
      }
    }
    if (t == UINT64_MAX || t > until)
      break;
    if (t > F.now)
      F.now = t;
    if (wi >= 0) {
      pkt p = F.q[wi];
      F.q[wi] = F.q[--F.n_q];
      sipline_ua_recv(F.s[p.to].ua, &p.path, (const uint8_t *)p.data, p.len,
                      F.now);
    } else {
      sipline_ua_handle_timeout(F.s[0].ua, F.now);
      sipline_ua_handle_timeout(F.s[1].ua, F.now);
    }
    pump();
  }
  if (until > F.now)
    F.now = until;
}

static int make(side *s, const char *ip, const char *peer, const char *user,
                uint64_t seed, const char *se) {
  s->ip = ip;
  s->peer = peer;
  s->auto_answer = 1;
  sipline_profile_error e;
  if (sipline_profile_new(&s->p, NULL) != 0)
    return -1;
  sipline_profile_set(s->p, "User_ID_1_", user, &e);
  sipline_profile_set(s->p, "Register_1_", "No", &e);
  sipline_profile_set(s->p, "Session_Expires_1_", se, &e);
  sipline_settings st = {.profile = s->p, .seed = seed, .local_host = ip};
  const sipline__module *mods[] = {&fake_reg, &sipline__dlg_module};
  return sipline__ua_create(&s->ua, &st, NULL, NULL, mods, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  memset(&F, 0, sizeof F);
  F.in = data;
  F.n = size;
  static const char *const ses[] = {"0", "90", "120", "1800"};
  const char *sea = ses[take(4)], *seb = ses[take(4)];
  if (make(&F.s[0], "10.0.0.1", "10.0.0.2", "1001", 1, sea) != 0 ||
      make(&F.s[1], "10.0.0.2", "10.0.0.1", "1002", 2, seb) != 0)
    abort();
  for (unsigned steps = 0; F.n && steps < 64; steps++) {
    int i = (int)take(2);
    side *s = &F.s[i];
    unsigned op = take(14);
    const char *sdp = i ? SDP2 : SDP1;
    size_t sl = strlen(sdp);
    switch (op) {
    case 0: {
      sipline_call_params cp = {.line = 1,
                                .to = "1002",
                                .sdp = take(2) ? sdp : NULL,
                                .prack = (sipline_100rel)take(3)};
      cp.sdp_len = cp.sdp ? sl : 0;
      sipline__dlg_call(F.s[0].ua, &cp, NULL, F.now);
      break;
    }
    case 1: {
      static const int st[] = {180, 183, 200, 200};
      sipline_call_answer a = {.status = st[take(4)], .reliable = (int)take(2)};
      if (take(2)) {
        a.sdp = sdp;
        a.sdp_len = sl;
      }
      sipline__dlg_answer(s->ua, s->call, &a, F.now);
      break;
    }
    case 2:
      sipline__dlg_reject(s->ua, s->call, 400 + (int)take(200), F.now);
      break;
    case 3:
      sipline__dlg_update(s->ua, s->call, take(2) ? sdp : NULL,
                          take(2) ? sl : 0, F.now);
      break;
    case 4:
      sipline__dlg_reinvite(s->ua, s->call, take(2) ? sdp : NULL, sl, F.now);
      break;
    case 5:
      sipline__dlg_hangup(s->ua, s->call, F.now);
      break;
    case 6:
      sipline__dlg_sdp(s->ua, s->call, take(2) ? sdp : NULL, sl, F.now);
      break;
    case 7:
      s->auto_answer = !s->auto_answer;
      break;
    case 8:
      F.drop_next = (int)take(4);
      break;
    case 9:
      F.dup_next = 1;
      break;
    case 10:
      F.delay_next = take(0) * 20;
      break;
    case 11:
      F.mutate_next = 1;
      break;
    case 12: {
      sipline_call_info ci;
      sipline__dlg_info(s->ua, s->call, &ci);
      break;
    }
    default:
      break;
    }
    advance(F.now + (uint64_t)take(0) * take(0) * 2);
  }
  /* Liveness: everything ends once both sides shut down. */
  F.mutate_next = F.drop_next = F.dup_next = 0;
  sipline_ua_shutdown(F.s[0].ua, F.now);
  sipline_ua_shutdown(F.s[1].ua, F.now);
  advance(F.now + SIPLINE_SEC(300));
  for (int i = 0; i < 2; i++) {
    if (!sipline_ua_is_shut_down(F.s[i].ua) ||
        sipline__dialog_count(F.s[i].ua) != 0) {
      fprintf(stderr, "UA %c not shut down: %zu dialogs\n", 'A' + i,
              sipline__dialog_count(F.s[i].ua));
      for (unsigned id = 1; id < 64; id++) {
        sipline_call_info ci;
        if (sipline__dlg_info(F.s[i].ua, id, &ci) == 0)
          fprintf(stderr, "  call %u: %s\n", id,
                  sipline_call_state_name(ci.state));
      }
      abort();
    }
  }
  for (int i = 0; i < 2; i++) {
    sipline_ua_del(F.s[i].ua);
    sipline_profile_del(F.s[i].p);
  }
  return 0;
}
