/*
 * tests/fuzz/fuzz_top_recv.c: bytes and times into a whole UA
 * (sipline_ua_new with every module the top layer registers).
 *
 * Two input shapes, chosen by the first byte:
 *  - anything but 0xFF: the input is one message; it is fed as a UDP
 *    datagram, then as a TCP stream cut in chunks whose sizes come from the
 *    input itself, then the clock runs out every timer. Seeds from the
 *    testdata (RFC 4475, RFC 5118) are meaningful in this shape.
 *  - 0xFF then a script of records "op len_hi len_lo bytes...":
 *      op % 8 = 0: UDP datagram from peer A;  1: from peer B;
 *               2: TCP chunk on flow A;       3: TCP chunk on flow B;
 *               4: advance time by len*37 ms and handle the timeout;
 *               5: transport error on flow (len % 4) with why (len % 5 + 1);
 *               6: pull everything queued and poll every event;
 *               7: start / shutdown depending on len.
 * Time never goes back. Invariants checked: pull_tx returns a sane length,
 * the next deadline is never in the past once handled, and the UA is freed
 * without leaks (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sipline/sipline.h"

static sipline_path mk(sipline_transport t, int which) {
  sipline_path p;
  memset(&p, 0, sizeof(p));
  p.tp = t;
  sipline_addr_parse(which ? "192.0.2.2:5060" : "192.0.2.1:40000",
                     which ? 14 : 15, &p.remote);
  sipline_addr_parse("10.0.0.9:5060", 13, &p.local);
  return p;
}

static sipline_tstamp now;

static void drain(sipline_ua *ua) {
  sipline_path p;
  const uint8_t *b;
  ptrdiff_t l;
  int guard = 0;
  while ((l = sipline_ua_pull_tx(ua, &p, &b, now)) >= 0) {
    if (l > 1 << 20)
      abort();
    if (l > 0 && !b)
      abort();
    if (++guard > 100000)
      abort();
  }
  sipline_event ev;
  guard = 0;
  while (sipline_ua_poll_event(ua, &ev))
    if (++guard > 100000)
      abort();
}

static void run_timers(sipline_ua *ua, sipline_tstamp until) {
  for (int i = 0; i < 10000; i++) {
    drain(ua);
    sipline_tstamp d = sipline_ua_next_deadline(ua);
    if (d == SIPLINE_TSTAMP_NONE || d > until)
      break;
    if (d > now)
      now = d;
    sipline_ua_handle_timeout(ua, now);
    if (sipline_ua_next_deadline(ua) < now)
      abort(); /* a handled deadline must move on */
  }
  if (until > now && until != SIPLINE_TSTAMP_NONE)
    now = until;
}

static sipline_profile *prof;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!prof) {
    if (sipline_profile_new(&prof, NULL))
      return 0;
    sipline_profile_set(prof, "Proxy_1_", "192.0.2.2", NULL);
    sipline_profile_set(prof, "User_ID_1_", "1001", NULL);
    sipline_profile_set(prof, "Password_1_", "secret", NULL);
  }
  sipline_settings st = {.profile = prof, .seed = 1, .local_host = "10.0.0.9"};
  sipline_ua *ua;
  if (sipline_ua_new(&ua, &st, NULL, NULL))
    return 0;
  now = 1000;
  if (size == 0 || data[0] != 0xFF) {
    sipline_path u = mk(SIPLINE_TP_UDP, 0);
    sipline_ua_recv(ua, &u, data, size, now);
    drain(ua);
    sipline_path t = mk(SIPLINE_TP_TCP, 0);
    size_t off = 0, step = size ? (size_t)data[size / 2] % 17 + 1 : 1;
    while (off < size) {
      size_t n = size - off < step ? size - off : step;
      int r = sipline_ua_recv(ua, &t, data + off, n, now);
      if (r == SIPLINE_ERR_MALFORMED || r == SIPLINE_ERR_TOOBIG) {
        sipline_ua_transport_error(ua, &t, SIPLINE_TPERR_CLOSED, now);
        break;
      }
      off += n;
      step = step * 3 % 97 + 1;
    }
    drain(ua);
    run_timers(ua, now + 600000);
  } else {
    size_t i = 1;
    while (i + 3 <= size) {
      unsigned op = data[i] % 8;
      size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
      i += 3;
      size_t n = len < size - i ? len : size - i;
      switch (op) {
      case 0:
      case 1: {
        sipline_path p = mk(SIPLINE_TP_UDP, (int)op);
        sipline_ua_recv(ua, &p, data + i, n, now);
        i += n;
        break;
      }
      case 2:
      case 3: {
        sipline_path p = mk(SIPLINE_TP_TCP, (int)op - 2);
        int r = sipline_ua_recv(ua, &p, data + i, n, now);
        if (r == SIPLINE_ERR_MALFORMED || r == SIPLINE_ERR_TOOBIG)
          sipline_ua_transport_error(ua, &p, SIPLINE_TPERR_CLOSED, now);
        i += n;
        break;
      }
      case 4:
        run_timers(ua, now + (sipline_tstamp)len * 37);
        break;
      case 5: {
        sipline_path p =
            mk(len % 4 < 2 ? SIPLINE_TP_UDP : SIPLINE_TP_TCP, (int)(len % 2));
        sipline_ua_transport_error(ua, &p, (int)(len % 5) + 1, now);
        break;
      }
      case 6:
        drain(ua);
        break;
      case 7:
        if (len & 1)
          sipline_ua_shutdown(ua, now);
        else
          sipline_ua_start(ua, now);
        break;
      }
    }
    drain(ua);
    run_timers(ua, now + 600000);
  }
  sipline_ua_del(ua);
  return 0;
}
