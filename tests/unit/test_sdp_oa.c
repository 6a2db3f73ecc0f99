/*
 * tests/unit/test_sdp_oa.c: RFC 3264 offer/answer helpers: the §10.1 and
 * §10.2 exchanges reproduced byte for byte, codec intersection (static by
 * number, dynamic by name/rate, telephone-event keeping the offer's type),
 * the §6.1 direction table, rejection and 488 (no codec in common), SRTP
 * crypto selection, IPv6, the §8 o= version rule, hold/resume, what a
 * negotiated stream uses, and argument and capacity errors.
 *
 * One difference from the RFC text is deliberate: an empty session name is
 * written "s= " (RFC 8866 §5.3 wants one space), where the RFC's examples
 * show "s=" (a trailing space is invisible in an RFC).
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

static sipline_sdp sa, sb, sc;
static char out[8192], out2[8192];

static const sipline_sdp_codec PCMU = {0, "PCMU", 8000, 0, NULL};
static const sipline_sdp_codec G723 = {4, "G723", 8000, 0, NULL};
static const sipline_sdp_codec G729 = {18, "G729", 8000, 0, NULL};
static const sipline_sdp_codec H261 = {31, "H261", 90000, 0, NULL};
static const sipline_sdp_codec MPV = {32, "MPV", 90000, 0, NULL};
static const sipline_sdp_codec EVENTS = {110, "telephone-events", 8000, 0,
                                         NULL};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void parse(sipline_sdp *s, const char *t) {
  assert_int_equal(sipline_sdp_parse(s, t, strlen(t)), 0);
}

static void test_rfc3264_10_1(void **state) {
  (void)state;
  sipline_sdp_origin alice = {"alice", 2890844526u, 2890844526u, 0, false};
  sipline_sdp_origin bob = {"bob", 2890844730u, 2890844730u, 0, false};
  const sipline_sdp_local_media a1m[] = {
      {.port = 49170, .codecs = &PCMU, .n_codecs = 1},
      {.media = "video", .port = 51372, .codecs = &H261, .n_codecs = 1},
      {.media = "video", .port = 53000, .codecs = &MPV, .n_codecs = 1},
  };
  const sipline_sdp_local a1 = {"host.anywhere.com", "", a1m, N(a1m)};
  ptrdiff_t n = sipline_sdp_make_offer(&a1, &alice, out, sizeof(out));
  assert_true(n > 0);
  assert_string_equal(out, "v=0\r\n"
                           "o=alice 2890844526 2890844526 IN IP4 "
                           "host.anywhere.com\r\n"
                           "s= \r\n"
                           "c=IN IP4 host.anywhere.com\r\n"
                           "t=0 0\r\n"
                           "m=audio 49170 RTP/AVP 0\r\n"
                           "a=rtpmap:0 PCMU/8000\r\n"
                           "m=video 51372 RTP/AVP 31\r\n"
                           "a=rtpmap:31 H261/90000\r\n"
                           "m=video 53000 RTP/AVP 32\r\n"
                           "a=rtpmap:32 MPV/90000\r\n");
  parse(&sa, out);

  /* Bob does not want the first video stream. */
  const sipline_sdp_local_media b1m[] = {
      {.port = 49920, .codecs = &PCMU, .n_codecs = 1},
      {.media = "video", .port = 53000, .codecs = &MPV, .n_codecs = 1},
  };
  const sipline_sdp_local b1 = {"host.example.com", "", b1m, N(b1m)};
  n = sipline_sdp_make_answer(&sa, &b1, &bob, out2, sizeof(out2));
  assert_true(n > 0);
  assert_string_equal(out2, "v=0\r\n"
                            "o=bob 2890844730 2890844730 IN IP4 "
                            "host.example.com\r\n"
                            "s= \r\n"
                            "c=IN IP4 host.example.com\r\n"
                            "t=0 0\r\n"
                            "m=audio 49920 RTP/AVP 0\r\n"
                            "a=rtpmap:0 PCMU/8000\r\n"
                            "m=video 0 RTP/AVP 31\r\n"
                            "m=video 53000 RTP/AVP 32\r\n"
                            "a=rtpmap:32 MPV/90000\r\n");
  parse(&sb, out2);
  sipline_sdp_result r;
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 0, &r), 0);
  assert_true(r.active);
  assert_int_equal(r.port, 49920);
  assert_int_equal(r.rtcp_port, 49921);
  assert_int_equal(r.pt, 0);
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 1, &r), 0);
  assert_false(r.active);
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 2, &r), 0);
  assert_true(r.active);
  assert_int_equal(r.pt, 32);
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 3, &r),
                   SIPLINE_ERR_NOTFOUND);

  /* Bob moves his audio port and adds a receive-only event stream. */
  const sipline_sdp_local_media b2m[] = {
      {.port = 65422, .codecs = &PCMU, .n_codecs = 1},
      {.media = "video", .port = 0, .codecs = &H261, .n_codecs = 1},
      {.media = "video", .port = 53000, .codecs = &MPV, .n_codecs = 1},
      {.port = 51434,
       .codecs = &EVENTS,
       .n_codecs = 1,
       .dir = SIPLINE_SDP_RECVONLY},
  };
  const sipline_sdp_local b2 = {"host.example.com", "", b2m, N(b2m)};
  n = sipline_sdp_make_offer(&b2, &bob, out, sizeof(out));
  assert_true(n > 0);
  assert_string_equal(out, "v=0\r\n"
                           "o=bob 2890844730 2890844731 IN IP4 "
                           "host.example.com\r\n"
                           "s= \r\n"
                           "c=IN IP4 host.example.com\r\n"
                           "t=0 0\r\n"
                           "m=audio 65422 RTP/AVP 0\r\n"
                           "a=rtpmap:0 PCMU/8000\r\n"
                           "m=video 0 RTP/AVP 31\r\n"
                           "m=video 53000 RTP/AVP 32\r\n"
                           "a=rtpmap:32 MPV/90000\r\n"
                           "m=audio 51434 RTP/AVP 110\r\n"
                           "a=rtpmap:110 telephone-events/8000\r\n"
                           "a=recvonly\r\n");
  parse(&sb, out);

  const sipline_sdp_local_media a2m[] = {
      {.port = 49170, .codecs = &PCMU, .n_codecs = 1},
      {.media = "video", .port = 51372, .codecs = &H261, .n_codecs = 1},
      {.media = "video", .port = 53000, .codecs = &MPV, .n_codecs = 1},
      {.port = 53122, .codecs = &EVENTS, .n_codecs = 1},
  };
  const sipline_sdp_local a2 = {"host.anywhere.com", "", a2m, N(a2m)};
  n = sipline_sdp_make_answer(&sb, &a2, &alice, out2, sizeof(out2));
  assert_true(n > 0);
  assert_string_equal(out2, "v=0\r\n"
                            "o=alice 2890844526 2890844527 IN IP4 "
                            "host.anywhere.com\r\n"
                            "s= \r\n"
                            "c=IN IP4 host.anywhere.com\r\n"
                            "t=0 0\r\n"
                            "m=audio 49170 RTP/AVP 0\r\n"
                            "a=rtpmap:0 PCMU/8000\r\n"
                            "m=video 0 RTP/AVP 31\r\n"
                            "a=rtpmap:31 H261/90000\r\n"
                            "m=video 53000 RTP/AVP 32\r\n"
                            "a=rtpmap:32 MPV/90000\r\n"
                            "m=audio 53122 RTP/AVP 110\r\n"
                            "a=rtpmap:110 telephone-events/8000\r\n"
                            "a=sendonly\r\n");
  parse(&sa, out2);
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 3, &r), 0);
  assert_true(r.active);
  assert_int_equal(r.dir, SIPLINE_SDP_SENDONLY);
  assert_int_equal(r.port, 51434);
  assert_int_equal(sipline_sdp_negotiated(&sb, &sa, 3, &r), 0);
  assert_int_equal(r.dir, SIPLINE_SDP_RECVONLY);
  assert_int_equal(r.port, 53122);
}

/*
 * §10.2 One of N codec selection. The RFC's re-offer and re-answer write
 * a=sendrecv, which we leave unwritten (it is the default); the expected
 * texts below omit that line and are otherwise the RFC's.
 */
static void test_rfc3264_10_2(void **state) {
  (void)state;
  sipline_sdp_origin alice = {"alice", 2890844526u, 2890844526u, 0, false};
  sipline_sdp_origin bob = {"bob", 2890844730u, 2890844731u, 0, false};
  const sipline_sdp_codec dsp[] = {PCMU, G723, G729};
  const sipline_sdp_local_media a1m = {
      .port = 62986, .codecs = dsp, .n_codecs = 3, .dir = SIPLINE_SDP_INACTIVE};
  const sipline_sdp_local a1 = {"host.anywhere.com", "", &a1m, 1};
  assert_true(sipline_sdp_make_offer(&a1, &alice, out, sizeof(out)) > 0);
  assert_string_equal(out, "v=0\r\n"
                           "o=alice 2890844526 2890844526 IN IP4 "
                           "host.anywhere.com\r\n"
                           "s= \r\n"
                           "c=IN IP4 host.anywhere.com\r\n"
                           "t=0 0\r\n"
                           "m=audio 62986 RTP/AVP 0 4 18\r\n"
                           "a=rtpmap:0 PCMU/8000\r\n"
                           "a=rtpmap:4 G723/8000\r\n"
                           "a=rtpmap:18 G729/8000\r\n"
                           "a=inactive\r\n");
  parse(&sa, out);
  const sipline_sdp_codec bobs[] = {PCMU, G723};
  const sipline_sdp_local_media b1m = {
      .port = 54344, .codecs = bobs, .n_codecs = 2};
  const sipline_sdp_local b1 = {"host.example.com", "", &b1m, 1};
  assert_true(sipline_sdp_make_answer(&sa, &b1, &bob, out2, sizeof(out2)) > 0);
  assert_string_equal(out2, "v=0\r\n"
                            "o=bob 2890844730 2890844731 IN IP4 "
                            "host.example.com\r\n"
                            "s= \r\n"
                            "c=IN IP4 host.example.com\r\n"
                            "t=0 0\r\n"
                            "m=audio 54344 RTP/AVP 0 4\r\n"
                            "a=rtpmap:0 PCMU/8000\r\n"
                            "a=rtpmap:4 G723/8000\r\n"
                            "a=inactive\r\n");
  const sipline_sdp_local_media a2m = {
      .port = 62986, .codecs = &G723, .n_codecs = 1};
  const sipline_sdp_local a2 = {"host.anywhere.com", "", &a2m, 1};
  assert_true(sipline_sdp_make_offer(&a2, &alice, out, sizeof(out)) > 0);
  assert_string_equal(out, "v=0\r\n"
                           "o=alice 2890844526 2890844527 IN IP4 "
                           "host.anywhere.com\r\n"
                           "s= \r\n"
                           "c=IN IP4 host.anywhere.com\r\n"
                           "t=0 0\r\n"
                           "m=audio 62986 RTP/AVP 4\r\n"
                           "a=rtpmap:4 G723/8000\r\n");
  parse(&sa, out);
  assert_true(sipline_sdp_make_answer(&sa, &b1, &bob, out2, sizeof(out2)) > 0);
  assert_string_equal(out2, "v=0\r\n"
                            "o=bob 2890844730 2890844732 IN IP4 "
                            "host.example.com\r\n"
                            "s= \r\n"
                            "c=IN IP4 host.example.com\r\n"
                            "t=0 0\r\n"
                            "m=audio 54344 RTP/AVP 4\r\n"
                            "a=rtpmap:4 G723/8000\r\n");
}

static const sipline_sdp_codec ours[] = {
    {0, "PCMU", 8000, 0, NULL},
    {8, "PCMA", 8000, 0, NULL},
    {96, "opus", 48000, 2, "useinbandfec=1"},
};
static const sipline_sdp_local_media our_audio = {
    .port = 4000, .codecs = ours, .n_codecs = 3, .te_pt = 100, .ptime = 20};
static const sipline_sdp_local our_local = {"192.0.2.1", NULL, &our_audio, 1};

static void test_intersection(void **state) {
  (void)state;
  sipline_sdp_origin o = {NULL, 7, 7, 0, false};
  /* The offer: PCMA before PCMU, opus at 111, events at 101, G729 we lack,
   * a dynamic type without rtpmap, and a non-numeric format. */
  parse(&sa, "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\n"
             "c=IN IP4 198.51.100.7\r\nt=0 0\r\n"
             "m=audio 5000 RTP/AVP 8 18 111 0 101 97 x\r\n"
             "a=rtpmap:111 OPUS/48000/2\r\na=fmtp:111 stereo=1\r\n"
             "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
             "a=ptime:30\r\na=rtcp-mux\r\n");
  ptrdiff_t n = sipline_sdp_make_answer(&sa, &our_local, &o, out, sizeof(out));
  assert_true(n > 0);
  assert_string_equal(out, "v=0\r\n"
                           "o=- 7 7 IN IP4 192.0.2.1\r\n"
                           "s=-\r\n"
                           "c=IN IP4 192.0.2.1\r\n"
                           "t=0 0\r\n"
                           "m=audio 4000 RTP/AVP 8 111 0 101\r\n"
                           "a=rtpmap:8 PCMA/8000\r\n"
                           "a=rtpmap:111 opus/48000/2\r\n"
                           "a=fmtp:111 useinbandfec=1\r\n"
                           "a=rtpmap:0 PCMU/8000\r\n"
                           "a=rtpmap:101 telephone-event/8000\r\n"
                           "a=fmtp:101 0-16\r\n"
                           "a=ptime:20\r\n");
  parse(&sb, out);
  /* Answerer's view: we send PCMA (the offer's first), events at 101. */
  sipline_sdp_result r;
  assert_int_equal(sipline_sdp_negotiated(&sb, &sa, 0, &r), 0);
  assert_true(r.active);
  assert_int_equal(r.pt, 8);
  assert_true(sipline_pl_casecmp_str(r.codec.name, "PCMA"));
  assert_int_equal(r.te_pt, 101);
  assert_int_equal(r.ptime, 30);
  assert_true(sipline_pl_casecmp_str(r.addr, "198.51.100.7"));
  assert_false(r.ipv6);
  assert_int_equal(r.port, 5000);
  assert_false(r.rtcp_mux); /* we did not want it */
  assert_int_equal(r.rtcp_port, 5001);
  assert_int_equal(r.dir, SIPLINE_SDP_SENDRECV);
  /* Offerer's view: it sends what we listed first, PCMA at 8. */
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 0, &r), 0);
  assert_int_equal(r.pt, 8);
  assert_int_equal(r.ptime, 20);
  assert_int_equal(r.port, 4000);
  /* With opus first in the answer, the fmtp is the remote's. */
  parse(&sb, "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 "
             "192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111\r\n"
             "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n");
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 0, &r), 0);
  assert_int_equal(r.pt, 111);
  assert_int_equal(r.codec.channels, 2);
  assert_true(sipline_pl_casecmp_str(r.fmtp, "useinbandfec=1"));
  assert_int_equal(r.te_pt, -1);
}

static void test_reject_and_488(void **state) {
  (void)state;
  sipline_sdp_origin o = {"me", 1, 1, 0, false};
  /* Only G729 and video: nothing in common -> UNSUPPORTED (488). */
  parse(&sa, "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
             "198.51.100.7\r\nt=0 0\r\nm=audio 5000 RTP/AVP 18\r\n"
             "m=video 5002 RTP/AVP 31\r\n");
  assert_int_equal(
      sipline_sdp_make_answer(&sa, &our_local, &o, out, sizeof(out)),
      SIPLINE_ERR_UNSUPPORTED);
  assert_false(o.has_prev); /* untouched on failure */
  /* An unknown protocol is rejected; the audio stream after it taken. */
  parse(&sa, "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
             "198.51.100.7\r\nt=0 0\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 0\r\n"
             "m=audio 5002 RTP/AVP 0\r\nm=audio 5004 RTP/AVP 0\r\n"
             "m=audio 0 RTP/AVP 0\r\n");
  assert_true(sipline_sdp_make_answer(&sa, &our_local, &o, out, sizeof(out)) >
              0);
  parse(&sb, out);
  assert_int_equal(sb.n_m, 4);
  assert_int_equal(sb.m[0].port, 0);
  assert_true(sipline_pl_casecmp_str(sb.m[0].proto, "UDP/TLS/RTP/SAVPF"));
  assert_int_equal(sb.m[1].port, 4000);
  assert_int_equal(sb.m[2].port, 0); /* one local stream: used already */
  assert_int_equal(sb.m[3].port, 0); /* offered disabled */
  /* No media at all in the offer: an answer with none. */
  parse(&sa, "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nt=0 0\r\n");
  assert_true(sipline_sdp_make_answer(&sa, &our_local, &o, out, sizeof(out)) >
              0);
}

static void test_directions(void **state) {
  (void)state;
  /* RFC 3264 §6.1 with every local wish. Rows: offer; columns: ours. */
  static const sipline_sdp_dir want[4][4] = {
      /* offer sendrecv */ {SIPLINE_SDP_SENDRECV, SIPLINE_SDP_SENDONLY,
                            SIPLINE_SDP_RECVONLY, SIPLINE_SDP_INACTIVE},
      /* offer sendonly */
      {SIPLINE_SDP_RECVONLY, SIPLINE_SDP_INACTIVE, SIPLINE_SDP_RECVONLY,
       SIPLINE_SDP_INACTIVE},
      /* offer recvonly */
      {SIPLINE_SDP_SENDONLY, SIPLINE_SDP_SENDONLY, SIPLINE_SDP_INACTIVE,
       SIPLINE_SDP_INACTIVE},
      /* offer inactive */
      {SIPLINE_SDP_INACTIVE, SIPLINE_SDP_INACTIVE, SIPLINE_SDP_INACTIVE,
       SIPLINE_SDP_INACTIVE},
  };
  static char offer[512];
  for (int od = 0; od < 4; od++)
    for (int ld = 0; ld < 4; ld++) {
      snprintf(offer, sizeof(offer),
               "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
               "198.51.100.7\r\nt=0 0\r\n%sm=audio 5000 RTP/AVP 0\r\n",
               od ? (od == 1   ? "a=sendonly\r\n"
                     : od == 2 ? "a=recvonly\r\n"
                               : "a=inactive\r\n")
                  : "");
      parse(&sa, offer);
      sipline_sdp_local_media m = our_audio;
      m.dir = (sipline_sdp_dir)ld;
      const sipline_sdp_local l = {"192.0.2.1", NULL, &m, 1};
      sipline_sdp_origin o = {"me", 1, 1, 0, false};
      assert_true(sipline_sdp_make_answer(&sa, &l, &o, out, sizeof(out)) > 0);
      parse(&sb, out);
      assert_int_equal(sipline_sdp_media_dir(&sb, 0), want[od][ld]);
      sipline_sdp_result r;
      assert_int_equal(sipline_sdp_negotiated(&sb, &sa, 0, &r), 0);
      assert_int_equal(r.dir, want[od][ld]);
    }
}

static void test_srtp(void **state) {
  (void)state;
  sipline_sdp_origin o = {"me", 1, 1, 0, false};
  sipline_sdp_local_media m = our_audio;
  m.crypto_suite = "AES_CM_128_HMAC_SHA1_32";
  m.crypto_key_params = "inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj";
  const sipline_sdp_local l = {"192.0.2.1", NULL, &m, 1};
  parse(&sa, "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
             "198.51.100.7\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\n"
             "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
             "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n"
             "a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
             "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32\r\n");
  assert_true(sipline_sdp_make_answer(&sa, &l, &o, out, sizeof(out)) > 0);
  assert_non_null(strstr(out, "m=audio 4000 RTP/SAVP 0\r\n"));
  assert_non_null(strstr(out, "a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
                              "inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj"
                              "\r\n"));
  parse(&sb, out);
  sipline_sdp_result r;
  assert_int_equal(sipline_sdp_negotiated(&sb, &sa, 0, &r), 0);
  assert_int_equal(r.local_crypto.tag, 2);
  assert_int_equal(r.remote_crypto.tag, 2);
  assert_true(sipline_pl_casecmp_str(
      r.remote_crypto.key_params,
      "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32"));
  /* Without our suite, the SAVP stream is refused; an AVP offer is
   * answered in the clear. */
  m.crypto_suite = "AEAD_AES_256_GCM";
  assert_int_equal(sipline_sdp_make_answer(&sa, &l, &o, out, sizeof(out)),
                   SIPLINE_ERR_UNSUPPORTED);
  parse(&sa, "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
             "198.51.100.7\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n");
  assert_true(sipline_sdp_make_answer(&sa, &l, &o, out, sizeof(out)) > 0);
  assert_null(strstr(out, "crypto"));
  /* A secure line (srtp_only) refuses that AVP offer: nothing to answer
   * (the caller answers 488), never a clear stream. */
  m.srtp_only = true;
  assert_int_equal(sipline_sdp_make_answer(&sa, &l, &o, out, sizeof(out)),
                   SIPLINE_ERR_UNSUPPORTED);
  /* ... and with two streams, AVP and SAVP with our suite, it takes only
   * the SAVP one (the AVP one gets port 0). */
  sipline_sdp_local_media two[2] = {m, m};
  two[1].port = 4002;
  const sipline_sdp_local l2 = {"192.0.2.1", NULL, two, 2};
  parse(&sa,
        "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
        "198.51.100.7\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"
        "m=audio 5002 RTP/SAVP 0\r\n"
        "a=crypto:7 AEAD_AES_256_GCM "
        "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRPS1uQCVeeCFCanVm\r\n");
  assert_true(sipline_sdp_make_answer(&sa, &l2, &o, out, sizeof(out)) > 0);
  assert_non_null(strstr(out, "m=audio 0 RTP/AVP 0\r\n"));
  assert_non_null(strstr(out, "RTP/SAVP 0\r\n"));
  assert_non_null(strstr(out, "a=crypto:7 AEAD_AES_256_GCM "));
  /* srtp_only without a suite means nothing: AVP as before. */
  m.crypto_suite = NULL;
  m.crypto_key_params = NULL;
  parse(&sa, "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
             "198.51.100.7\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n");
  assert_true(sipline_sdp_make_answer(&sa, &l, &o, out, sizeof(out)) > 0);
  m.crypto_suite = "AEAD_AES_256_GCM";
  m.crypto_key_params = "inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj";
  m.srtp_only = false;
  /* Our offer with SRTP. */
  assert_true(sipline_sdp_make_offer(&l, &o, out, sizeof(out)) > 0);
  assert_non_null(strstr(out, "m=audio 4000 RTP/SAVP 0 8 96 100\r\n"));
  assert_non_null(strstr(out, "a=crypto:1 AEAD_AES_256_GCM inline:"));
}

static void test_ipv6(void **state) {
  (void)state;
  sipline_sdp_origin o = {"me", 1, 1, 0, false};
  sipline_sdp_local l = our_local;
  l.address = "2001:db8::20";
  assert_true(sipline_sdp_make_offer(&l, &o, out, sizeof(out)) > 0);
  assert_non_null(strstr(out, "o=me 1 1 IN IP6 2001:db8::20\r\n"));
  assert_non_null(strstr(out, "c=IN IP6 2001:db8::20\r\n"));
  parse(&sa, out);
  /* The peer answers from IPv6 too. */
  parse(&sb, "v=0\r\no=x 1 1 IN IP6 2001:db8::10\r\ns=-\r\nt=0 0\r\n"
             "m=audio 6000 RTP/AVP 0\r\nc=IN IP6 2001:db8::10\r\n"
             "a=rtcp:6010\r\n");
  sipline_sdp_result r;
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 0, &r), 0);
  assert_true(r.ipv6);
  assert_true(sipline_pl_casecmp_str(r.addr, "2001:db8::10"));
  assert_int_equal(r.rtcp_port, 6010);
  /* No connection anywhere: malformed for an active stream. */
  parse(&sb, "v=0\r\no=x 1 1 IN IP6 2001:db8::10\r\ns=-\r\nt=0 0\r\n"
             "m=audio 6000 RTP/AVP 0\r\n");
  assert_int_equal(sipline_sdp_negotiated(&sa, &sb, 0, &r),
                   SIPLINE_ERR_MALFORMED);
}

/* t= copied (§6), rtcp-mux agreed, and the RFC 2543 hold by 0.0.0.0. */
static void test_time_mux_old_hold(void **state) {
  (void)state;
  sipline_sdp_origin o = {"me", 1, 1, 0, false};
  sipline_sdp_local_media m = our_audio;
  m.rtcp_mux = true;
  const sipline_sdp_local l = {"192.0.2.1", NULL, &m, 1};
  parse(&sa, "v=0\r\no=x 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 "
             "0.0.0.0\r\nt=3034423619 3042462419\r\n"
             "m=audio 5000 RTP/AVP 0\r\na=rtcp-mux\r\n");
  assert_true(sipline_sdp_make_answer(&sa, &l, &o, out, sizeof(out)) > 0);
  assert_non_null(strstr(out, "\r\nt=3034423619 3042462419\r\n"));
  assert_non_null(strstr(out, "\r\na=rtcp-mux\r\n"));
  parse(&sb, out);
  sipline_sdp_result r;
  assert_int_equal(sipline_sdp_negotiated(&sb, &sa, 0, &r), 0);
  assert_true(r.active);
  assert_true(r.rtcp_mux);
  assert_int_equal(r.rtcp_port, 5000);
  assert_int_equal(r.dir, SIPLINE_SDP_RECVONLY); /* they hold us */
}

static void test_versions_hold_resume(void **state) {
  (void)state;
  sipline_sdp_origin o = {"me", 42, 100, 0, false};
  static char first[8192];
  assert_true(sipline_sdp_make_offer(&our_local, &o, first, sizeof(first)) > 0);
  assert_int_equal(o.sess_version, 100);
  /* An identical re-send (a session refresh) keeps the version. */
  assert_true(sipline_sdp_make_offer(&our_local, &o, out, sizeof(out)) > 0);
  assert_int_equal(o.sess_version, 100);
  assert_string_equal(out, first);
  /* A change bumps it. */
  sipline_sdp_local_media m = our_audio;
  m.port = 4002;
  sipline_sdp_local l = {"192.0.2.1", NULL, &m, 1};
  assert_true(sipline_sdp_make_offer(&l, &o, out, sizeof(out)) > 0);
  assert_int_equal(o.sess_version, 101);
  assert_non_null(strstr(out, "o=me 42 101 IN IP4"));
  /* Hold: a copy of the current one with sendonly, version +1. */
  parse(&sa, out);
  assert_true(sipline_sdp_set_direction(&sa, 0, SIPLINE_SDP_SENDONLY, &o, out2,
                                        sizeof(out2)) > 0);
  assert_int_equal(o.sess_version, 102);
  parse(&sb, out2);
  assert_int_equal(sipline_sdp_media_dir(&sb, 0), SIPLINE_SDP_SENDONLY);
  assert_int_equal(sb.m[0].port, 4002);
  assert_int_equal(sb.m[0].n_fmt, sa.m[0].n_fmt);
  /* The same hold again: unchanged text, unchanged version. */
  assert_true(sipline_sdp_set_direction(&sb, SIPLINE_SDP_SESSION,
                                        SIPLINE_SDP_SENDONLY, &o, out,
                                        sizeof(out)) > 0);
  assert_int_equal(o.sess_version, 102);
  assert_string_equal(out, out2);
  /* Resume: back to the held-from text, with the next version. */
  assert_true(sipline_sdp_set_direction(&sb, 0, SIPLINE_SDP_SENDRECV, &o, out,
                                        sizeof(out)) > 0);
  assert_int_equal(o.sess_version, 103);
  parse(&sc, out);
  assert_int_equal(sipline_sdp_media_dir(&sc, 0), SIPLINE_SDP_SENDRECV);
  assert_null(strstr(out, "a=send"));
  /* A session-level direction is replaced by per-section ones. */
  parse(&sa, "v=0\r\no=me 42 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 "
             "192.0.2.1\r\nt=0 0\r\na=recvonly\r\nm=audio 1 RTP/AVP 0\r\n"
             "m=audio 2 RTP/AVP 0\r\n");
  assert_true(sipline_sdp_set_direction(&sa, 1, SIPLINE_SDP_INACTIVE, &o, out,
                                        sizeof(out)) > 0);
  parse(&sb, out);
  assert_int_equal(sb.n_a, 0);
  assert_int_equal(sipline_sdp_media_dir(&sb, 0), SIPLINE_SDP_RECVONLY);
  assert_int_equal(sipline_sdp_media_dir(&sb, 1), SIPLINE_SDP_INACTIVE);
  assert_int_equal(sipline_sdp_set_direction(&sa, 2, SIPLINE_SDP_INACTIVE, &o,
                                             out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  /* A section already at 64 attributes cannot take its direction line
   * (the output would not parse); with 63 it can. Found by the fuzzer. */
  static char big[8192];
  for (int count = 63; count <= 64; count++) {
    int len = snprintf(big, sizeof(big),
                       "v=0\r\no=me 42 1 IN IP4 192.0.2.1\r\ns=-\r\n"
                       "t=0 0\r\nm=audio 1 RTP/AVP 0\r\n");
    for (int i = 0; i < count; i++)
      len += snprintf(big + len, sizeof(big) - (size_t)len, "a=x%d\r\n", i);
    parse(&sa, big);
    ptrdiff_t n = sipline_sdp_set_direction(&sa, 0, SIPLINE_SDP_INACTIVE, &o,
                                            out, sizeof(out));
    if (count == 63) {
      assert_true(n > 0);
      parse(&sb, out);
      assert_int_equal(sb.m[0].n_a, 64);
    } else {
      assert_int_equal(n, SIPLINE_ERR_TOOBIG);
    }
  }
}

static void test_errors(void **state) {
  (void)state;
  sipline_sdp_origin o = {"me", 1, 1, 0, false};
  sipline_sdp_local l = our_local;
  l.address = NULL;
  assert_int_equal(sipline_sdp_make_offer(&l, &o, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  l.address = "192.0.2.1 x";
  assert_int_equal(sipline_sdp_make_offer(&l, &o, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  l = our_local;
  l.session_name = "a\r\nb";
  assert_int_equal(sipline_sdp_make_offer(&l, &o, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  sipline_sdp_local_media m = our_audio;
  m.n_codecs = 0;
  l = (sipline_sdp_local){"192.0.2.1", NULL, &m, 1};
  assert_int_equal(sipline_sdp_make_offer(&l, &o, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  const sipline_sdp_codec bad = {128, "x", 8000, 0, NULL};
  m.codecs = &bad;
  m.n_codecs = 1;
  assert_int_equal(sipline_sdp_make_offer(&l, &o, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  static sipline_sdp_codec many[SIPLINE_SDP_MAX_CODECS + 1];
  for (unsigned i = 0; i <= SIPLINE_SDP_MAX_CODECS; i++)
    many[i] = (sipline_sdp_codec){96 + i, "x", 8000, 0, "a=b"};
  m.codecs = many;
  m.n_codecs = SIPLINE_SDP_MAX_CODECS;
  assert_true(sipline_sdp_make_offer(&l, &o, out, sizeof(out)) > 0);
  parse(&sa, out); /* 16 rtpmap + 16 fmtp lines still parse */
  m.n_codecs = SIPLINE_SDP_MAX_CODECS + 1;
  assert_int_equal(sipline_sdp_make_offer(&l, &o, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  o = (sipline_sdp_origin){"me", 1, 1, 0, false};
  o.username = "two words";
  assert_int_equal(sipline_sdp_make_offer(&our_local, &o, out, sizeof(out)),
                   SIPLINE_ERR_INVAL);
  o.username = "me";
  assert_false(o.has_prev);
  /* Every capacity short of the length fails, with nothing changed. */
  ptrdiff_t n = sipline_sdp_make_offer(&our_local, &o, out, sizeof(out));
  assert_true(n > 0);
  sipline_sdp_origin keep = o;
  for (size_t cap = 0; cap <= (size_t)n; cap++) {
    char *p = malloc(cap ? cap : 1);
    assert_int_equal(
        sipline_sdp_make_offer(&our_local, &o, cap ? p : NULL, cap),
        SIPLINE_ERR_TOOBIG);
    free(p);
  }
  assert_memory_equal(&o, &keep, sizeof(o));
  parse(&sa, out);
  n = sipline_sdp_make_answer(&sa, &our_local, &o, out2, sizeof(out2));
  assert_true(n > 0);
  for (size_t cap = 0; cap <= (size_t)n; cap++) {
    char *p = malloc(cap ? cap : 1);
    assert_int_equal(
        sipline_sdp_make_answer(&sa, &our_local, &o, cap ? p : NULL, cap),
        SIPLINE_ERR_TOOBIG);
    free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc3264_10_1),
      cmocka_unit_test(test_rfc3264_10_2),
      cmocka_unit_test(test_intersection),
      cmocka_unit_test(test_reject_and_488),
      cmocka_unit_test(test_directions),
      cmocka_unit_test(test_srtp),
      cmocka_unit_test(test_ipv6),
      cmocka_unit_test(test_time_mux_old_hold),
      cmocka_unit_test(test_versions_hold_resume),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
