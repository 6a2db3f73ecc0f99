/*
 * tests/unit/test_sdp_parse.c: the SDP parser, printer and readers: the
 * RFC 8866 and RFC 4566 examples, RFC 5118's IPv6 SDP, lenient inputs real
 * phones send, hostile inputs (every truncation, NULs, huge counts, bad
 * ports and addresses, wrong order) and parse -> print -> parse round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sipline/sdp.h"

static sipline_sdp s1, s2;
static char pbuf[65536];

static int parse(const char *t) {
  return sipline_sdp_parse(&s1, t, strlen(t));
}

static int pleq(sipline_pl a, const char *b) {
  return a.len == strlen(b) && memcmp(a.p, b, a.len) == 0;
}

/* Print s1, re-parse into s2, require equality and a stable second print. */
static void round_trip(void) {
  ptrdiff_t n = sipline_sdp_print(&s1, pbuf, sizeof(pbuf));
  assert_true(n > 0);
  assert_int_equal(strlen(pbuf), (size_t)n);
  static char copy[65536];
  memcpy(copy, pbuf, (size_t)n);
  assert_int_equal(sipline_sdp_parse(&s2, copy, (size_t)n), 0);
  assert_true(sipline_sdp_equal(&s1, &s2));
  static char again[65536];
  assert_int_equal(sipline_sdp_print(&s2, again, sizeof(again)), n);
  assert_memory_equal(copy, again, (size_t)n);
}

/* RFC 8866 §5 (the example at the end of the section). */
static const char rfc8866[] =
    "v=0\r\n"
    "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n"
    "s=Call to John Smith\r\n"
    "i=SDP Offer #1\r\n"
    "u=http://www.jdoe.example.com/home.html\r\n"
    "e=Jane Doe <jane@jdoe.example.com>\r\n"
    "p=+1 617 555-6011\r\n"
    "c=IN IP4 198.51.100.1\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0\r\n"
    "m=audio 49180 RTP/AVP 0\r\n"
    "m=video 51372 RTP/AVP 99\r\n"
    "c=IN IP6 2001:db8::2\r\n"
    "a=rtpmap:99 h263-1998/90000\r\n";

/* RFC 4566 §5: multicast with a TTL and a session-level direction. */
static const char rfc4566[] =
    "v=0\r\n"
    "o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n"
    "s=SDP Seminar\r\n"
    "i=A Seminar on the session description protocol\r\n"
    "u=http://www.example.com/seminars/sdp.pdf\r\n"
    "e=j.doe@example.com (Jane Doe)\r\n"
    "c=IN IP4 224.2.17.12/127\r\n"
    "t=2873397496 2873404696\r\n"
    "a=recvonly\r\n"
    "m=audio 49170 RTP/AVP 0\r\n"
    "m=video 51372 RTP/AVP 99\r\n"
    "a=rtpmap:99 h263-1998/90000\r\n";

/* What a phone sends: SRTP, telephone-event, rtcp, ptime. */
static const char phone[] =
    "v=0\r\n"
    "o=- 1 2 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "b=AS:84\r\n"
    "t=0 0\r\n"
    "m=audio 4000 RTP/SAVP 0 8 9 101\r\n"
    "b=TIAS:64000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=rtcp:4001 IN IP4 192.0.2.11\r\n"
    "a=rtcp-mux\r\n"
    "a=ptime:20\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
    "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32 KDR=1\r\n"
    "a=sendonly\r\n";

static void test_rfc8866(void **state) {
  (void)state;
  assert_int_equal(parse(rfc8866), 0);
  assert_true(pleq(s1.o.username, "jdoe"));
  assert_true(pleq(s1.o.sess_id, "3724394400"));
  assert_true(pleq(s1.o.sess_version, "3724394405"));
  assert_true(pleq(s1.o.address, "198.51.100.1"));
  assert_true(pleq(s1.s, "Call to John Smith"));
  assert_true(pleq(s1.i, "SDP Offer #1"));
  assert_true(pleq(s1.u, "http://www.jdoe.example.com/home.html"));
  assert_int_equal(s1.n_e, 1);
  assert_true(pleq(s1.p[0], "+1 617 555-6011"));
  assert_true(s1.has_c);
  assert_int_equal(s1.n_t, 1);
  assert_int_equal(s1.n_m, 3);
  assert_int_equal(s1.m[1].port, 49180);
  assert_true(pleq(s1.m[2].fmt[0], "99"));
  /* Media 2 has its own IPv6 connection, the others the session's. */
  const sipline_sdp_conn *c = sipline_sdp_media_conn(&s1, 2);
  assert_true(pleq(c->addrtype, "IP6"));
  assert_true(pleq(c->address, "2001:db8::2"));
  assert_true(pleq(sipline_sdp_media_conn(&s1, 0)->address, "198.51.100.1"));
  assert_null(sipline_sdp_media_conn(&s1, 3));
  sipline_sdp_rtpmap r;
  assert_int_equal(sipline_sdp_rtpmap_get(&s1, 2, 99, &r), 0);
  assert_true(pleq(r.name, "h263-1998"));
  assert_int_equal(r.rate, 90000);
  assert_false(r.is_static);
  assert_int_equal(sipline_sdp_rtpmap_get(&s1, 0, 0, &r), 0);
  assert_true(r.is_static);
  assert_true(pleq(r.name, "PCMU"));
  assert_int_equal(sipline_sdp_rtpmap_get(&s1, 0, 99, &r),
                   SIPLINE_ERR_NOTFOUND);
  assert_int_equal(sipline_sdp_media_dir(&s1, 0), SIPLINE_SDP_SENDRECV);
  round_trip();
  /* The printer writes exactly the input back (it is in RFC order). */
  assert_string_equal(pbuf, rfc8866);
}

static void test_rfc4566(void **state) {
  (void)state;
  assert_int_equal(parse(rfc4566), 0);
  assert_true(s1.c.has_ttl);
  assert_int_equal(s1.c.ttl, 127);
  assert_int_equal(s1.c.count, 0);
  assert_true(pleq(s1.c.address, "224.2.17.12"));
  assert_int_equal(s1.t[0].start, 2873397496u);
  assert_int_equal(s1.t[0].stop, 2873404696u);
  /* The session's recvonly applies to both media. */
  assert_int_equal(sipline_sdp_media_dir(&s1, 0), SIPLINE_SDP_RECVONLY);
  assert_int_equal(sipline_sdp_media_dir(&s1, 1), SIPLINE_SDP_RECVONLY);
  round_trip();
  assert_string_equal(pbuf, rfc4566);
}

static void test_phone_helpers(void **state) {
  (void)state;
  assert_int_equal(parse(phone), 0);
  assert_int_equal(s1.b[0].value, 84);
  assert_true(pleq(s1.m[0].b[0].type, "TIAS"));
  assert_int_equal(sipline_sdp_media_dir(&s1, 0), SIPLINE_SDP_SENDONLY);
  sipline_pl v;
  assert_int_equal(sipline_sdp_fmtp_get(&s1, 0, 101, &v), 0);
  assert_true(pleq(v, "0-16"));
  assert_int_equal(sipline_sdp_fmtp_get(&s1, 0, 0, &v), SIPLINE_ERR_NOTFOUND);
  unsigned ms;
  assert_int_equal(sipline_sdp_ptime_get(&s1, 0, &ms), 0);
  assert_int_equal(ms, 20);
  sipline_sdp_rtcp rt;
  assert_int_equal(sipline_sdp_rtcp_get(&s1, 0, &rt), 0);
  assert_int_equal(rt.port, 4001);
  assert_true(pleq(rt.address, "192.0.2.11"));
  assert_int_equal(sipline_sdp_rtcp_mux(&s1, 0), 1);
  sipline_sdp_crypto cr[1];
  assert_int_equal(sipline_sdp_crypto_list(&s1, 0, cr, 1), 2);
  assert_int_equal(cr[0].tag, 1);
  assert_true(pleq(cr[0].suite, "AES_CM_128_HMAC_SHA1_80"));
  assert_true(
      pleq(cr[0].key_params,
           "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32"));
  assert_int_equal(cr[0].session_params.len, 0);
  sipline_sdp_crypto all[2];
  assert_int_equal(sipline_sdp_crypto_list(&s1, 0, all, 2), 2);
  assert_true(pleq(all[1].session_params, "KDR=1"));
  assert_int_equal(sipline_sdp_attr_get(&s1, 0, "RTCP-MUX", NULL), 0);
  assert_int_equal(
      sipline_sdp_attr_get(&s1, SIPLINE_SDP_SESSION, "rtcp-mux", NULL),
      SIPLINE_ERR_NOTFOUND);
  sipline_sdp_rtpmap r;
  assert_int_equal(sipline_sdp_rtpmap_get(&s1, 0, 9, &r), 0);
  assert_true(pleq(r.name, "G722"));
  assert_string_equal(sipline_sdp_dir_name(SIPLINE_SDP_INACTIVE), "inactive");
  round_trip();
  assert_string_equal(pbuf, phone);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[8192];
  *len = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[*len] = '\0';
  return buf;
}

/* RFC 5118 §4.5 (IPv6 in SDP) and §4.6 (several addresses), LF-only. */
static void test_rfc5118(void **state) {
  (void)state;
  size_t n;
  char *t = read_file(SIPLINE_TESTDATA "/rfc5118/ipv6-in-sdp.dat", &n);
  char *body = strstr(t, "\n\nv=0");
  assert_non_null(body);
  body += 2;
  assert_int_equal(sipline_sdp_parse(&s1, body, strlen(body)), 0);
  assert_true(pleq(s1.o.addrtype, "IP6"));
  assert_true(pleq(s1.o.address, "2001:db8::20"));
  assert_true(pleq(sipline_sdp_media_conn(&s1, 1)->address, "2001:db8::20"));
  assert_int_equal(s1.m[1].port, 6024);
  round_trip();
  t = read_file(SIPLINE_TESTDATA "/rfc5118/mult-ip-in-sdp.dat", &n);
  body = strstr(t, "\n\nv=0") + 2;
  assert_int_equal(sipline_sdp_parse(&s1, body, strlen(body)), 0);
  assert_false(s1.has_c);
  assert_true(pleq(s1.s, ""));
  assert_true(pleq(sipline_sdp_media_conn(&s1, 0)->address, "192.0.2.1"));
  assert_true(pleq(sipline_sdp_media_conn(&s1, 1)->addrtype, "IP6"));
  round_trip();
}

static const char *const good[] = {
    /* LF only, no final line end, trailing blanks, trailing blank lines. */
    "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=x\nt=0 0\nm=audio 1 RTP/AVP 0",
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1 \r\ns= \r\nt=0 0\t\r\n\r\n\r\n",
    /* Several spaces between fields; sloppy order of session lines. */
    "v=0\r\no=-  1  1 IN  IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 "
    "192.0.2.1\r\na=x\r\nb=AS:1\r\n",
    /* Multicast forms. */
    "v=0\r\no=- 1 1 IN IP4 a.example\r\ns=-\r\nc=IN IP4 "
    "224.2.1.1/127/3\r\nt=0 0\r\nm=video 49170/2 RTP/AVP 31\r\nc=IN IP6 "
    "FF15::101/3\r\nc=IN IP6 ff15::1\r\n",
    /* An IPv4-mapped IPv6 address, FQDNs, an empty a= value. */
    "v=0\r\no=- 1 1 IN IP6 ::ffff:192.0.2.1\r\ns=-\r\nc=IN IP4 "
    "host.example.com\r\nt=0 0\r\nr=604800 3600 0 90000\r\nz=2882844526 -1h "
    "2898848070 0\r\nk=prompt\r\na=tool:\r\nm=audio 0 RTP/AVP 0\r\ni=x\r\nk="
    "clear:x\r\n",
    /* Another network type, kept raw. */
    "v=0\r\no=- 1 1 ATM NSAP 47.0005.80.ffe100.0000.f2\r\ns=-\r\nc=ATM NSAP "
    "47.0005/80\r\nt=0 0\r\n",
    /* Big numbers: sess-id of 25 digits, NTP times. */
    "v=0\r\no=- 1234567890123456789012345 0 IN IP4 192.0.2.1\r\ns=-\r\n"
    "t=3034423619 3042462419\r\n",
};

static void test_lenient(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    if (parse(good[i]) != 0)
      fail_msg("good[%zu] refused", i);
    round_trip();
  }
  assert_int_equal(parse(good[1]), 0);
  assert_int_equal(s1.s.len, 0);
  assert_int_equal(parse(good[3]), 0);
  assert_int_equal(s1.c.count, 3);
  assert_int_equal(s1.m[0].nports, 2);
  assert_int_equal(s1.m[0].n_c, 2);
  assert_int_equal(s1.m[0].c[0].count, 3);
  assert_false(s1.m[0].c[0].has_ttl);
}

#define H "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
static const struct {
  const char *t;
  int err;
} bad[] = {
    {"", SIPLINE_ERR_MALFORMED},
    {"o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {"v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
     SIPLINE_ERR_MALFORMED},
    {"v=0\r\ns=-\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n",
     SIPLINE_ERR_MALFORMED},
    {H, SIPLINE_ERR_MALFORMED}, /* no t= */
    {H "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nx=unknown\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nA=x\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\na =x\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\na=\r\n", SIPLINE_ERR_MALFORMED},
    {H "r=1 2 3\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio 1 RTP/AVP 0\r\ns=x\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n",
     SIPLINE_ERR_MALFORMED},
    {H "i=a\r\ni=b\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio 65536 RTP/AVP 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio -1 RTP/AVP 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio 1a RTP/AVP 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio 1/0 RTP/AVP 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio 99999999999999999999 RTP/AVP 0\r\n",
     SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio 1 RTP/AVP\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\nm=audio 1 RTP//AVP 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=x 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 256.1.1.1\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 1.2.3\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 192.0.2.1/127\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 224.2.1.1\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 224.2.1.1/256\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 224.2.1.1/1/0\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 224.2.1.1/1/2/3\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP6 2001:db8::1/3\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP6 2001:db8:::1\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP6 1:2:3:4:5:6:7:8:9\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP6 1::2::3\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP6 12345::1\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP6 host_name\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "c=IN IP4 192.0.2.1 x\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "b=AS\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "b=AS:x\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\n\r\nm=audio 1 RTP/AVP 0\r\n", SIPLINE_ERR_MALFORMED},
    {H "t=0 0\r\na=x\ry\r\n", SIPLINE_ERR_MALFORMED},
    {"v=0\r\no=- x 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n",
     SIPLINE_ERR_MALFORMED},
    {"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4 5\r\ns=-\r\nt=0 0\r\n",
     SIPLINE_ERR_MALFORMED},
    {"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n", SIPLINE_ERR_MALFORMED},
};

static void test_hostile(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rc = parse(bad[i].t);
    if (rc != bad[i].err)
      fail_msg("bad[%zu] gave %d", i, rc);
  }
  assert_int_equal(sipline_sdp_parse(NULL, "v=0", 3), SIPLINE_ERR_INVAL);
  assert_int_equal(sipline_sdp_parse(&s1, NULL, 3), SIPLINE_ERR_INVAL);
}

/* Each valid text cut at every length parses or fails cleanly; a cut at a
 * line end after t= parses. NUL anywhere in a line is malformed. */
static void test_truncations_and_nuls(void **state) {
  (void)state;
  const char *texts[] = {rfc8866, rfc4566, phone};
  static char buf[4096];
  for (size_t k = 0; k < 3; k++) {
    size_t n = strlen(texts[k]);
    const char *t_line = strstr(texts[k], "\nt=");
    for (size_t cut = 0; cut <= n; cut++) {
      /* A fresh heap copy, so ASan sees any read past the cut. */
      char *p = malloc(cut ? cut : 1);
      memcpy(p, texts[k], cut);
      int rc = sipline_sdp_parse(&s1, p, cut);
      bool line_end = cut > 0 && texts[k][cut - 1] == '\n';
      if (line_end && texts[k] + cut > t_line + 3)
        assert_int_equal(rc, 0);
      if (rc == 0)
        round_trip();
      free(p);
    }
    for (size_t i = 0; i < n; i++) {
      memcpy(buf, texts[k], n);
      if (buf[i] == '\n')
        continue;
      buf[i] = '\0';
      assert_int_equal(sipline_sdp_parse(&s1, buf, n), SIPLINE_ERR_MALFORMED);
    }
  }
}

static void test_bounds(void **state) {
  (void)state;
  static char buf[32768];
  size_t n;
  /* 16 media are fine, 17 are too many. */
  for (int count = 16; count <= 17; count++) {
    n = (size_t)sprintf(buf, H "t=0 0\r\n");
    for (int i = 0; i < count; i++)
      n += (size_t)sprintf(buf + n, "m=audio %d RTP/AVP 0\r\n", 1000 + i);
    assert_int_equal(sipline_sdp_parse(&s1, buf, n),
                     count == 16 ? 0 : SIPLINE_ERR_TOOBIG);
  }
  /* 64 formats, then 65. */
  for (int count = 64; count <= 65; count++) {
    n = (size_t)sprintf(buf, H "t=0 0\r\nm=audio 1 RTP/AVP");
    for (int i = 0; i < count; i++)
      n += (size_t)sprintf(buf + n, " %d", i);
    n += (size_t)sprintf(buf + n, "\r\n");
    assert_int_equal(sipline_sdp_parse(&s1, buf, n),
                     count == 64 ? 0 : SIPLINE_ERR_TOOBIG);
    if (count == 64)
      round_trip();
  }
  /* 64 attributes at each level, then 65. */
  for (int lvl = 0; lvl < 2; lvl++)
    for (int count = 64; count <= 65; count++) {
      n = (size_t)sprintf(buf, H "t=0 0\r\n%s",
                          lvl ? "m=audio 1 RTP/AVP 0\r\n" : "");
      for (int i = 0; i < count; i++)
        n += (size_t)sprintf(buf + n, "a=x%d:%d\r\n", i, i);
      assert_int_equal(sipline_sdp_parse(&s1, buf, n),
                       count == 64 ? 0 : SIPLINE_ERR_TOOBIG);
    }
  /* Bandwidth, time, repeat, contact bounds. */
  n = (size_t)sprintf(buf, H);
  for (int i = 0; i < 9; i++)
    n += (size_t)sprintf(buf + n, "t=0 0\r\n");
  assert_int_equal(sipline_sdp_parse(&s1, buf, n), SIPLINE_ERR_TOOBIG);
  n = (size_t)sprintf(buf, H "t=0 0\r\n");
  for (int i = 0; i < 5; i++)
    n += (size_t)sprintf(buf + n, "r=1 2 3\r\n");
  assert_int_equal(sipline_sdp_parse(&s1, buf, n), SIPLINE_ERR_TOOBIG);
  n = (size_t)sprintf(buf, H "t=0 0\r\nm=audio 1 RTP/AVP 0\r\n");
  for (int i = 0; i < 9; i++)
    n += (size_t)sprintf(buf + n, "b=AS:%d\r\n", i);
  assert_int_equal(sipline_sdp_parse(&s1, buf, n), SIPLINE_ERR_TOOBIG);
  n = (size_t)sprintf(buf, H "t=0 0\r\n");
  for (int i = 0; i < 5; i++)
    n += (size_t)sprintf(buf + n, "e=a@b\r\n");
  assert_int_equal(sipline_sdp_parse(&s1, buf, n), SIPLINE_ERR_TOOBIG);
}

static void test_print_errors(void **state) {
  (void)state;
  assert_int_equal(parse(rfc8866), 0);
  ptrdiff_t n = sipline_sdp_print(&s1, pbuf, sizeof(pbuf));
  assert_true(n > 0);
  /* Every capacity short of len + 1 is refused, never overrun. */
  for (size_t cap = 0; cap <= (size_t)n; cap++) {
    char *p = malloc(cap ? cap : 1);
    assert_int_equal(sipline_sdp_print(&s1, cap ? p : NULL, cap),
                     SIPLINE_ERR_TOOBIG);
    free(p);
  }
  /* A hand-made view holding CRLF cannot inject a line. */
  s1.s = SIPLINE_PL("x\r\na=evil");
  assert_int_equal(sipline_sdp_print(&s1, pbuf, sizeof(pbuf)),
                   SIPLINE_ERR_INVAL);
  assert_int_equal(parse(rfc8866), 0);
  s1.m[0].n_fmt = SIPLINE_SDP_MAX_FMT + 1;
  assert_int_equal(sipline_sdp_print(&s1, pbuf, sizeof(pbuf)),
                   SIPLINE_ERR_INVAL);
}

static void test_directions(void **state) {
  (void)state;
  assert_int_equal(parse(H
                         "a=inactive\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n"
                         "a=sendonly\r\na=recvonly\r\nm=audio 2 RTP/AVP 0\r\n"),
                   0);
  assert_int_equal(sipline_sdp_media_dir(&s1, 0), SIPLINE_SDP_RECVONLY);
  assert_int_equal(sipline_sdp_media_dir(&s1, 1), SIPLINE_SDP_INACTIVE);
  assert_int_equal(parse(H "t=0 0\r\nm=audio 1 RTP/AVP 0\r\na=ptime:20.0\r\n"
                           "a=rtcp:x\r\na=rtpmap:96 opus\r\n"
                           "a=rtpmap:97 opus/48000/2\r\n"),
                   0);
  unsigned ms;
  assert_int_equal(sipline_sdp_ptime_get(&s1, 0, &ms), 0);
  assert_int_equal(ms, 20);
  sipline_sdp_rtcp rt;
  assert_int_equal(sipline_sdp_rtcp_get(&s1, 0, &rt), SIPLINE_ERR_MALFORMED);
  sipline_sdp_rtpmap r;
  assert_int_equal(sipline_sdp_rtpmap_get(&s1, 0, 96, &r),
                   SIPLINE_ERR_MALFORMED);
  assert_int_equal(sipline_sdp_rtpmap_get(&s1, 0, 97, &r), 0);
  assert_int_equal(r.channels, 2);
  assert_int_equal(r.rate, 48000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc8866),
      cmocka_unit_test(test_rfc4566),
      cmocka_unit_test(test_phone_helpers),
      cmocka_unit_test(test_rfc5118),
      cmocka_unit_test(test_lenient),
      cmocka_unit_test(test_hostile),
      cmocka_unit_test(test_truncations_and_nuls),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_print_errors),
      cmocka_unit_test(test_directions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
