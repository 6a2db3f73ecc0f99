/*
 * Unit tests of the pure media parts (daemon/media/rtp.h): RTP headers
 * with CSRCs, extensions and padding, truncated and wrong-version packets;
 * RFC 4733 payloads; RTCP compounds built and parsed, and hostile ones;
 * receive statistics over wrap, loss and duplicates; the jitter buffer
 * with reordering, loss, duplicates, SSRC change, wrap and jumps; the
 * a=crypto line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/rtp.h"

/* ---- RTP ---------------------------------------------------------------- */

static void test_rtp_roundtrip(void **state) {
  (void)state;
  uint8_t b[64];
  sm_rtp h = {.pt = 8,
              .marker = true,
              .seq = 65535,
              .ts = 0xdeadbeef,
              .ssrc = 0x01020304};
  assert_int_equal(sm_rtp_pack(b, sizeof b, &h), SM_RTP_HDR);
  memset(b + 12, 0xd5, 20);
  sm_rtp r;
  assert_int_equal(sm_rtp_unpack(b, 12 + 20, &r), 0);
  assert_int_equal(r.pt, 8);
  assert_true(r.marker);
  assert_int_equal(r.seq, 65535);
  assert_int_equal(r.ts, 0xdeadbeef);
  assert_int_equal(r.ssrc, 0x01020304);
  assert_int_equal(r.plen, 20);
  assert_ptr_equal(r.payload, b + 12);
  assert_int_equal(sm_rtp_pack(b, 11, &h), SIPLINE_ERR_TOOBIG);
}

static void test_rtp_csrc_ext_padding(void **state) {
  (void)state;
  uint8_t b[64] = {0};
  /* V=2 P=1 X=1 CC=2 */
  b[0] = 0x80 | 0x20 | 0x10 | 2;
  b[1] = 0;
  size_t off = 12 + 8; /* two CSRCs */
  b[off + 0] = 0xbe;   /* profile 0xbede */
  b[off + 1] = 0xde;
  b[off + 3] = 1; /* one word of extension */
  off += 8;
  memcpy(b + off, "abcd", 4); /* payload */
  off += 4;
  b[off + 2] = 3; /* three bytes of padding */
  off += 3;
  sm_rtp r;
  assert_int_equal(sm_rtp_unpack(b, off, &r), 0);
  assert_int_equal(r.cc, 2);
  assert_true(r.has_ext);
  assert_int_equal(r.ext_profile, 0xbede);
  assert_int_equal(r.ext_len, 4);
  assert_int_equal(r.plen, 4);
  assert_memory_equal(r.payload, "abcd", 4);
  /* Every truncation is malformed or a shorter valid payload, never a read
   * past the end (ASan watches). */
  for (size_t n = 0; n < off; n++) {
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, b, n);
    int rc = sm_rtp_unpack(c, n, &r);
    if (rc == 0)
      assert_true(r.payload + r.plen <= c + n);
    free(c);
  }
  /* Padding count 0, or larger than what follows the header. */
  b[off - 1] = 0;
  assert_int_equal(sm_rtp_unpack(b, off, &r), SIPLINE_ERR_MALFORMED);
  b[off - 1] = 60;
  assert_int_equal(sm_rtp_unpack(b, off, &r), SIPLINE_ERR_MALFORMED);
  /* Extension longer than the packet. */
  b[off - 1] = 3;
  b[12 + 8 + 3] = 200;
  assert_int_equal(sm_rtp_unpack(b, off, &r), SIPLINE_ERR_MALFORMED);
  /* CSRC count beyond the packet. */
  b[0] = 0x80 | 15;
  assert_int_equal(sm_rtp_unpack(b, 40, &r), SIPLINE_ERR_MALFORMED);
}

static void test_rtp_bad_version(void **state) {
  (void)state;
  uint8_t b[20] = {0};
  sm_rtp r;
  for (int v = 0; v < 4; v++) {
    b[0] = (uint8_t)(v << 6);
    assert_int_equal(sm_rtp_unpack(b, sizeof b, &r),
                     v == 2 ? 0 : SIPLINE_ERR_MALFORMED);
  }
  assert_int_equal(sm_rtp_unpack(b, 0, &r), SIPLINE_ERR_MALFORMED);
  uint8_t rtcp[2] = {0x80, 200};
  assert_true(sm_is_rtcp(rtcp, 2));
  rtcp[1] = 0x80 | 0; /* marker + PCMU */
  assert_false(sm_is_rtcp(rtcp, 2));
  rtcp[1] = 101;
  assert_false(sm_is_rtcp(rtcp, 2));
  assert_false(sm_is_rtcp(rtcp, 1));
}

/* ---- RFC 4733 ----------------------------------------------------------- */

static void test_tev(void **state) {
  (void)state;
  uint8_t b[4];
  sm_tev e = {.event = 11, .end = true, .volume = 10, .duration = 1280};
  sm_tev_pack(b, &e);
  assert_int_equal(b[0], 11);
  assert_int_equal(b[1], 0x80 | 10);
  assert_int_equal(b[2], 0x05);
  assert_int_equal(b[3], 0x00);
  sm_tev o;
  assert_int_equal(sm_tev_unpack(b, 4, &o), 0);
  assert_int_equal(o.event, 11);
  assert_true(o.end);
  assert_int_equal(o.volume, 10);
  assert_int_equal(o.duration, 1280);
  assert_int_equal(sm_tev_unpack(b, 3, &o), SIPLINE_ERR_MALFORMED);
  b[1] = 0xff; /* E and the reserved bit set: reserved ignored */
  assert_int_equal(sm_tev_unpack(b, 4, &o), 0);
  assert_int_equal(o.volume, 63);
  const char *d = "0123456789*#ABCD";
  for (int i = 0; d[i]; i++) {
    int ev = sm_tev_from_digit(d[i]);
    assert_int_equal(ev, i);
    assert_int_equal(sm_tev_digit((uint8_t)ev), d[i]);
  }
  assert_int_equal(sm_tev_from_digit('a'), 12);
  assert_int_equal(sm_tev_from_digit('d'), 15);
  assert_int_equal(sm_tev_from_digit('E'), -1);
  assert_int_equal(sm_tev_from_digit(0), -1);
  assert_int_equal(sm_tev_digit(16), 0);
}

/* ---- receive statistics ------------------------------------------------- */

static void test_rxstat(void **state) {
  (void)state;
  sm_rxstat s = {0};
  uint16_t seq = 65530;
  uint32_t ts = 1000;
  /* probation: the first packet does not count */
  assert_int_equal(sm_rxstat_update(&s, 7, seq++, ts, ts), SIPLINE_ERR_AGAIN);
  ts += 160;
  for (int i = 0; i < 20; i++, ts += 160) {
    if (i == 5 || i == 6) {
      seq++;
      continue;
    } /* two lost, across the wrap */
    assert_int_equal(sm_rxstat_update(&s, 7, seq++, ts, ts), 0);
  }
  assert_int_equal(sm_rxstat_lost(&s), 2);
  assert_int_equal(sm_rxstat_ext_max(&s), 65536u + (uint16_t)(seq - 1));
  assert_int_equal(sm_rxstat_fraction(&s), (2 * 256) / 20);
  assert_int_equal(sm_rxstat_fraction(&s), 0); /* interval advanced */
  /* a duplicate counts as received: loss goes down (RFC 3550 6.4.1) */
  assert_int_equal(sm_rxstat_update(&s, 7, (uint16_t)(seq - 1), ts, ts), 0);
  assert_int_equal(sm_rxstat_lost(&s), 1);
  /* jitter: constant transit gives 0; one packet 80 units late gives 5 */
  assert_int_equal(sm_rxstat_jitter(&s), 0);
  assert_int_equal(sm_rxstat_update(&s, 7, seq++, ts, ts + 80), 0);
  assert_int_equal(sm_rxstat_jitter(&s), 5);
  /* a jump of 40000: ignored once, accepted as a restart when the next
   * one follows it */
  uint16_t j = (uint16_t)(seq + 40000);
  assert_int_equal(sm_rxstat_update(&s, 7, j, ts, ts), SIPLINE_ERR_AGAIN);
  assert_int_equal(sm_rxstat_update(&s, 7, (uint16_t)(j + 1), ts, ts), 0);
  assert_int_equal(sm_rxstat_lost(&s), 0);
  /* a new SSRC starts over */
  assert_int_equal(sm_rxstat_update(&s, 8, 1, ts, ts), SIPLINE_ERR_AGAIN);
  assert_int_equal(s.ssrc, 8);
}

/* ---- RTCP --------------------------------------------------------------- */

static void test_rtcp_sr_roundtrip(void **state) {
  (void)state;
  uint8_t b[256];
  sm_rtcp_rb rb = {.ssrc = 0xabc,
                   .fraction = 25,
                   .lost = -3,
                   .ext_max = 70000,
                   .jitter = 12,
                   .lsr = 0x11223344,
                   .dlsr = 65536};
  sm_rtcp_out o = {.ssrc = 0x1234,
                   .sr = true,
                   .ntp = 0x0102030405060708ull,
                   .rtp_ts = 160000,
                   .pkts = 50,
                   .octets = 8000,
                   .rb = &rb,
                   .nrb = 1,
                   .cname = "a@127.0.0.1",
                   .bye = true};
  int n = sm_rtcp_build(b, sizeof b, &o);
  assert_true(n > 0);
  assert_int_equal(n % 4, 0);
  /* SR 28+24, SDES 8+2+11+1 -> 24, BYE 8 */
  assert_int_equal(n, 52 + 24 + 8);
  sm_rtcp_info in;
  assert_int_equal(sm_rtcp_parse(b, (size_t)n, &in), 0);
  assert_true(in.sr);
  assert_int_equal(in.ssrc, 0x1234);
  assert_true(in.ntp == 0x0102030405060708ull);
  assert_int_equal(in.rtp_ts, 160000);
  assert_int_equal(in.pkts, 50);
  assert_int_equal(in.octets, 8000);
  assert_int_equal(in.nrb, 1);
  assert_int_equal(in.rb[0].ssrc, 0xabc);
  assert_int_equal(in.rb[0].fraction, 25);
  assert_int_equal(in.rb[0].lost, -3);
  assert_int_equal(in.rb[0].ext_max, 70000);
  assert_int_equal(in.rb[0].jitter, 12);
  assert_int_equal(in.rb[0].lsr, 0x11223344);
  assert_int_equal(in.rb[0].dlsr, 65536);
  assert_int_equal(in.cname_len, 11);
  assert_memory_equal(in.cname, "a@127.0.0.1", 11);
  assert_true(in.bye);
  /* too small a buffer, too long a CNAME */
  assert_int_equal(sm_rtcp_build(b, 40, &o), SIPLINE_ERR_TOOBIG);
  char longname[300];
  memset(longname, 'x', sizeof longname - 1);
  longname[299] = 0;
  o.cname = longname;
  assert_int_equal(sm_rtcp_build(b, sizeof b, &o), SIPLINE_ERR_INVAL);
}

static void test_rtcp_rr_and_hostile(void **state) {
  (void)state;
  uint8_t b[256];
  /* a CNAME of one octet: exactly one null octet ends the chunk */
  sm_rtcp_out o = {.ssrc = 9, .cname = "a"};
  int n = sm_rtcp_build(b, sizeof b, &o);
  assert_int_equal(n, 8 + 12);
  sm_rtcp_info in;
  assert_int_equal(sm_rtcp_parse(b, (size_t)n, &in), 0);
  assert_false(in.sr);
  assert_false(in.bye);
  assert_int_equal(in.nrb, 0);
  assert_int_equal(in.cname_len, 1);
  /* every truncation: malformed (but the RR alone), never a crash */
  for (int k = 0; k < n; k++) {
    uint8_t *c = malloc((size_t)k + 1);
    memcpy(c, b, (size_t)k);
    assert_int_equal(sm_rtcp_parse(c, (size_t)k, &in),
                     k == 8 ? 0 : SIPLINE_ERR_MALFORMED);
    free(c);
  }
  /* trailing garbage after a valid compound */
  b[n] = 0x80;
  assert_int_equal(sm_rtcp_parse(b, (size_t)n + 1, &in), SIPLINE_ERR_MALFORMED);
  /* first packet not SR/RR; bad version in the second; padding in the
   * first; RC claiming blocks the length does not hold */
  uint8_t c[64];
  memcpy(c, b, (size_t)n);
  c[1] = 202;
  assert_int_equal(sm_rtcp_parse(c, (size_t)n, &in), SIPLINE_ERR_MALFORMED);
  memcpy(c, b, (size_t)n);
  c[8] = 0x40 | 1;
  assert_int_equal(sm_rtcp_parse(c, (size_t)n, &in), SIPLINE_ERR_MALFORMED);
  memcpy(c, b, (size_t)n);
  c[0] |= 0x20;
  assert_int_equal(sm_rtcp_parse(c, (size_t)n, &in), SIPLINE_ERR_MALFORMED);
  memcpy(c, b, (size_t)n);
  c[0] |= 2;
  assert_int_equal(sm_rtcp_parse(c, (size_t)n, &in), SIPLINE_ERR_MALFORMED);
  /* an SDES item whose length runs past its packet: no CNAME, no crash */
  memcpy(c, b, (size_t)n);
  c[8 + 9] = 200;
  assert_int_equal(sm_rtcp_parse(c, (size_t)n, &in), 0);
  assert_null(in.cname);
  /* padding on the last packet is allowed */
  memcpy(c, b, (size_t)n);
  c[8] |= 0x20; /* SDES padded: extend it by 4 octets */
  c[8 + 3] += 1;
  memset(c + n, 0, 4);
  c[n + 3] = 4;
  assert_int_equal(sm_rtcp_parse(c, (size_t)n + 4, &in), 0);
  c[n + 3] = 0;
  assert_int_equal(sm_rtcp_parse(c, (size_t)n + 4, &in), SIPLINE_ERR_MALFORMED);
}

static void test_rtcp_interval(void **state) {
  (void)state;
  assert_int_equal(sm_rtcp_interval_ms(false, 0.5), 4104);
  assert_int_equal(sm_rtcp_interval_ms(true, 0.5), 2052);
  assert_true(sm_rtcp_interval_ms(false, 0.0) >= 2000);
  assert_true(sm_rtcp_interval_ms(false, 0.999) <= 6200);
  assert_int_equal(sm_rtcp_interval_ms(false, 7), 4104);
}

/* ---- jitter buffer ------------------------------------------------------ */

static int put(sm_jb *jb, uint32_t ssrc, uint16_t seq) {
  uint8_t p[2] = {(uint8_t)(seq >> 8), (uint8_t)seq};
  return sm_jb_put(jb, ssrc, seq, p, 2);
}

/* Plays one tick; returns the sequence number played, -1 lost, -2 empty. */
static int get(sm_jb *jb) {
  uint8_t out[SM_JB_FRAME];
  size_t n;
  int rc = sm_jb_get(jb, out, &n);
  if (rc == SM_JB_FRAME_OK) {
    assert_int_equal(n, 2);
    return out[0] << 8 | out[1];
  }
  return rc == SM_JB_FRAME_LOST ? -1 : -2;
}

static void test_jb_reorder_dup_wrap(void **state) {
  (void)state;
  sm_jb jb;
  sm_jb_init(&jb, 2, 6);
  assert_int_equal(get(&jb), -2);
  /* 65534 arrives after 65535: both before playout starts */
  assert_int_equal(put(&jb, 1, 65535), SM_JB_OK);
  assert_int_equal(get(&jb), -2); /* prefetch not reached */
  assert_int_equal(put(&jb, 1, 65534), SM_JB_OK);
  assert_int_equal(put(&jb, 1, 65534), SM_JB_DUP);
  assert_int_equal(get(&jb), 65534);
  assert_int_equal(put(&jb, 1, 1), SM_JB_OK); /* 0 comes late */
  assert_int_equal(get(&jb), 65535);
  assert_int_equal(put(&jb, 1, 0), SM_JB_OK);
  assert_int_equal(get(&jb), 0);
  assert_int_equal(get(&jb), 1);
  /* 2 lost: concealed; then 3 plays */
  assert_int_equal(put(&jb, 1, 3), SM_JB_OK);
  assert_int_equal(get(&jb), -1);
  assert_int_equal(get(&jb), 3);
  /* 2 arriving now is late */
  assert_int_equal(put(&jb, 1, 2), SM_JB_LATE);
  assert_int_equal(jb.st.late, 1);
  assert_int_equal(jb.st.dup, 1);
  assert_int_equal(jb.st.missing, 1);
}

/* After an underrun, a packet far behind the last frame played is a
 * restarted sender (RESET), not a straggler; the new run then plays on
 * from there (fuzz_media_rtp found the buffer taking it without saying
 * so). */
static void test_jb_restart_after_underrun(void **state) {
  (void)state;
  sm_jb jb;
  sm_jb_init(&jb, 1, 1);
  assert_int_equal(put(&jb, 1, 31), SM_JB_OK);
  assert_int_equal(get(&jb), 31);
  assert_int_equal(get(&jb), -1);
  assert_int_equal(get(&jb), -2); /* dry: buffering again */
  assert_int_equal(put(&jb, 1, 30), SM_JB_LATE);
  assert_int_equal(put(&jb, 1, (uint16_t)(31 - 114)), SM_JB_RESET);
  assert_int_equal(jb.st.reset, 1);
  assert_int_equal(put(&jb, 1, (uint16_t)(31 - 32)), SM_JB_OK);
  assert_int_equal(get(&jb), (uint16_t)(31 - 32));
  /* a forward jump after silence is a new talk spurt, not a restart */
  assert_int_equal(get(&jb), -1);
  assert_int_equal(get(&jb), -2);
  assert_int_equal(put(&jb, 1, 900), SM_JB_OK);
  assert_int_equal(jb.st.reset, 1);
  assert_int_equal(get(&jb), 900);
}

static void test_jb_ssrc_jump_overflow(void **state) {
  (void)state;
  sm_jb jb;
  sm_jb_init(&jb, 2, 6);
  put(&jb, 1, 100);
  put(&jb, 1, 101);
  assert_int_equal(get(&jb), 100);
  /* a new SSRC restarts buffering from its first packet */
  assert_int_equal(put(&jb, 2, 5000), SM_JB_RESET);
  assert_int_equal(get(&jb), -2);
  assert_int_equal(put(&jb, 2, 5001), SM_JB_OK);
  assert_int_equal(get(&jb), 5000);
  /* a jump of 1000 on the same SSRC is a restart too */
  assert_int_equal(put(&jb, 2, 6001), SM_JB_RESET);
  put(&jb, 2, 6002);
  assert_int_equal(get(&jb), 6001);
  /* a burst: more than max waiting drops the oldest */
  for (uint16_t s = 6003; s < 6013; s++)
    put(&jb, 2, s);
  assert_true(sm_jb_depth(&jb) <= 6);
  assert_int_equal(get(&jb), 6007);
  assert_int_equal(jb.st.overflow, 5);
  /* the stream stops: a few concealed frames, then empty, then it
   * buffers again */
  while (get(&jb) >= 0)
    ;
  int lost = 0, r;
  while ((r = get(&jb)) == -1)
    lost++;
  assert_int_equal(r, -2);
  assert_true(lost >= 1 && lost <= 7);
  /* a straggler from before the underrun is late, not a new start */
  assert_int_equal(put(&jb, 2, 6010), SM_JB_LATE);
  assert_int_equal(get(&jb), -2);
  put(&jb, 2, 6020);
  assert_int_equal(get(&jb), -2);
  put(&jb, 2, 6021);
  assert_int_equal(get(&jb), 6020);
  /* payload too big */
  uint8_t big[SM_JB_FRAME + 1] = {0};
  assert_int_equal(sm_jb_put(&jb, 2, 6022, big, sizeof big),
                   SIPLINE_ERR_TOOBIG);
}

static void test_jb_random_order(void **state) {
  (void)state;
  /* A seeded shuffle within a window of 3 and 10 % loss: every packet that
   * arrives in time plays exactly once and in order. */
  sm_jb jb;
  sm_jb_init(&jb, 3, 8);
  uint32_t x = 12345;
  uint16_t base = 65000;
  int last = -1, played = 0;
  uint16_t order[600];
  for (int i = 0; i < 600; i++)
    order[i] = (uint16_t)(base + i);
  for (int i = 0; i + 2 < 600; i += 3) {
    x = x * 1103515245u + 12345u;
    if (x >> 30 & 1) {
      uint16_t t = order[i];
      order[i] = order[i + 2];
      order[i + 2] = t;
    }
  }
  for (int i = 0; i < 600; i++) {
    x = x * 1103515245u + 12345u;
    if ((x >> 16) % 10 != 0)
      assert_true(put(&jb, 3, order[i]) >= 0);
    int g = get(&jb);
    if (g >= 0) {
      uint16_t gs = (uint16_t)g;
      if (last >= 0)
        assert_true((int16_t)(uint16_t)(gs - (uint16_t)last) > 0);
      last = gs;
      played++;
    }
  }
  assert_true(played > 450);
  assert_int_equal(jb.st.dup, 0);
}

/* ---- a=crypto ----------------------------------------------------------- */

static void test_sdes(void **state) {
  (void)state;
  sm_sdes k = {.tag = 1};
  for (int i = 0; i < SM_SRTP_KEYLEN; i++)
    k.key[i] = (uint8_t)(i * 7 + 1);
  char line[128];
  int n = sm_sdes_print(line, sizeof line, &k);
  assert_int_equal(n, (int)strlen("1 AES_CM_128_HMAC_SHA1_80 inline:") + 40);
  sm_sdes o;
  assert_int_equal(sm_sdes_parse(line, (size_t)n, &o), 0);
  assert_int_equal(o.tag, 1);
  assert_memory_equal(o.key, k.key, SM_SRTP_KEYLEN);
  assert_int_equal(sm_sdes_print(line, 20, &k), SIPLINE_ERR_TOOBIG);
  /* RFC 4568's example key, with a=crypto:, lifetime and CRLF */
  const char *ex = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
                   "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20\r\n";
  assert_int_equal(sm_sdes_parse(ex, strlen(ex), &o), 0);
  assert_int_equal(o.key[0], 0x3d);
  const struct {
    const char *s;
    int rc;
  } bad[] = {
      {"", SIPLINE_ERR_MALFORMED},
      {"x AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVBR",
       SIPLINE_ERR_MALFORMED},
      {"1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVBR",
       SIPLINE_ERR_UNSUPPORTED},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVB",
       SIPLINE_ERR_MALFORMED},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVB=",
       SIPLINE_ERR_MALFORMED},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVBR|2^20|1:4",
       SIPLINE_ERR_UNSUPPORTED},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVBR|2^20|",
       SIPLINE_ERR_MALFORMED},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVBR;inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
       SIPLINE_ERR_UNSUPPORTED},
      {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVBR UNENCRYPTED_SRTP",
       SIPLINE_ERR_UNSUPPORTED},
      {"1 AES_CM_128_HMAC_SHA1_80 key:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXX"
       "txaVBR",
       SIPLINE_ERR_MALFORMED},
      {"1234567890 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjN"
       "WhcYD0mXXtxaVBR",
       SIPLINE_ERR_MALFORMED},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sm_sdes_parse(bad[i].s, strlen(bad[i].s), &o), bad[i].rc);
  /* every truncation of a good line: an error or (cut in the lifetime) ok */
  for (size_t i = 0; i < strlen(ex); i++) {
    char *c = malloc(i + 1);
    memcpy(c, ex, i);
    int rc = sm_sdes_parse(c, i, &o);
    assert_true(rc == 0 || rc == SIPLINE_ERR_MALFORMED ||
                rc == SIPLINE_ERR_UNSUPPORTED);
    free(c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rtp_roundtrip),
      cmocka_unit_test(test_rtp_csrc_ext_padding),
      cmocka_unit_test(test_rtp_bad_version),
      cmocka_unit_test(test_tev),
      cmocka_unit_test(test_rxstat),
      cmocka_unit_test(test_rtcp_sr_roundtrip),
      cmocka_unit_test(test_rtcp_rr_and_hostile),
      cmocka_unit_test(test_rtcp_interval),
      cmocka_unit_test(test_jb_reorder_dup_wrap),
      cmocka_unit_test(test_jb_ssrc_jump_overflow),
      cmocka_unit_test(test_jb_restart_after_underrun),
      cmocka_unit_test(test_jb_random_order),
      cmocka_unit_test(test_sdes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
