/*
 * libFuzzer target for the pure media parsers (daemon/media/rtp.h): the
 * first byte picks the reader (RTP, RTCP, telephone-event, a=crypto), and
 * a last mode cuts the input into packets for the receive statistics and
 * the jitter buffer, checking the buffer never holds more than its window
 * and never plays a sequence number again or one just behind the last.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"

static void jb_run(const uint8_t *p, size_t n) {
  sm_jb jb;
  sm_rxstat rx = {0};
  sm_jb_init(&jb, 1 + (n ? p[0] % 4 : 0), 1 + (n > 1 ? p[1] % 12 : 0));
  int last = -1;
  uint32_t t = 0;
  /* 4 bytes a step: ssrc and get bits, seq (16), payload length */
  for (size_t i = 2; i + 4 <= n; i += 4) {
    uint32_t ssrc = p[i] & 1;
    uint16_t seq = (uint16_t)(p[i + 1] << 8 | p[i + 2]);
    size_t len = p[i + 3] % 5; /* within the 4 bytes of the step */
    int rc = sm_jb_put(&jb, ssrc, seq, p + i, len);
    if (rc == SM_JB_RESET)
      last = -1;
    (void)sm_rxstat_update(&rx, ssrc, seq, t, t + p[i + 3]);
    t += 160;
    (void)sm_rxstat_lost(&rx);
    (void)sm_rxstat_fraction(&rx);
    if (sm_jb_depth(&jb) > SM_JB_SLOTS)
      abort();
    if (p[i] & 2) {
      uint8_t out[SM_JB_FRAME];
      size_t got;
      if (sm_jb_get(&jb, out, &got) == SM_JB_FRAME_OK) {
        uint16_t s = jb.next - 1;
        int16_t d = (int16_t)(uint16_t)(s - (uint16_t)last);
        /* Never the same or a recent one again. The buffer takes a jump of
         * more than 100 back from its playout point (which runs up to
         * max + 1 past the last played while it underruns) as a restarted
         * sender, so only the 80 before the last are checked. */
        if (last >= 0 && d <= 0 && d >= -80)
          abort();
        last = s;
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  /* a private copy, exactly n bytes, so ASan sees any overread */
  uint8_t *c = malloc(n ? n : 1);
  memcpy(c, p, n);
  switch (data[0] % 5) {
  case 0: {
    sm_rtp r;
    if (sm_rtp_unpack(c, n, &r) == 0 && r.payload + r.plen > c + n)
      abort();
    (void)sm_is_rtcp(c, n);
    break;
  }
  case 1: {
    sm_rtcp_info in;
    if (sm_rtcp_parse(c, n, &in) == 0 && in.cname &&
        in.cname + in.cname_len > c + n)
      abort();
    break;
  }
  case 2: {
    sm_tev e;
    (void)sm_tev_unpack(c, n, &e);
    break;
  }
  case 3: {
    sm_sdes k;
    if (sm_sdes_parse((const char *)c, n, &k) == 0) {
      char line[128];
      sm_sdes k2;
      int l = sm_sdes_print(line, sizeof line, &k);
      if (l < 0 || sm_sdes_parse(line, (size_t)l, &k2) != 0 ||
          memcmp(k.key, k2.key, sizeof k.key) != 0)
        abort();
    }
    break;
  }
  default:
    jb_run(c, n);
  }
  free(c);
  return 0;
}
