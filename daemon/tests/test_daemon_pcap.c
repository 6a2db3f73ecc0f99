/*
 * Unit tests of daemon/trace.c: the pcap written for --trace is read back
 * and every synthesized header checked (lengths, addresses, ports,
 * checksums, TCP sequence numbers); the HEPv3 encoder's chunks are walked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "trace.h"

static const char sip[] = "REGISTER sip:example.test SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK1\r\n"
                          "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";

static sipline_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                       uint16_t port) {
  sipline_addr x;
  memset(&x, 0, sizeof x);
  x.family = 4;
  x.ip[0] = a, x.ip[1] = b, x.ip[2] = c, x.ip[3] = d;
  x.port = port;
  return x;
}

static sipline_addr v6loop(uint16_t port) {
  sipline_addr x;
  memset(&x, 0, sizeof x);
  x.family = 6;
  x.ip[15] = 1;
  x.port = port;
  return x;
}

static uint32_t rd32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* Verifies a transport checksum: the sum over pseudo-header + segment
 * must fold to 0xffff. */
static void check_l4_sum(const uint8_t *ip, int v6, int proto,
                         const uint8_t *l4, size_t l4len) {
  uint8_t ph[40];
  size_t n;
  memset(ph, 0, sizeof ph);
  if (v6) {
    memcpy(ph, ip + 8, 32);
    ph[34] = (uint8_t)(l4len >> 8);
    ph[35] = (uint8_t)l4len;
    ph[39] = (uint8_t)proto;
    n = 40;
  } else {
    memcpy(ph, ip + 12, 8);
    ph[9] = (uint8_t)proto;
    ph[10] = (uint8_t)(l4len >> 8);
    ph[11] = (uint8_t)l4len;
    n = 12;
  }
  uint32_t s = strace_sum(ph, n, 0);
  s = strace_sum(l4, l4len, s);
  assert_int_equal(s, 0xffff);
}

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static uint8_t buf[1 << 20];
  *n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  return buf;
}

static void test_pcap_roundtrip(void **state) {
  (void)state;
  char path[256];
  snprintf(path, sizeof path, "%s/test_pcap_%ld.pcap", SIPLINED_TMP,
           (long)getpid());
  spcap *pc = NULL;
  assert_int_equal(spcap_open(&pc, path), 0);
  sipline_addr a = v4(127, 0, 0, 1, 5090), b = v4(10, 1, 2, 3, 5060);
  sipline_addr a6 = v6loop(5090), b6 = v6loop(5060);
  struct timeval tv = {1700000000, 123456};
  size_t n = sizeof sip - 1;
  assert_int_equal(
      spcap_write(pc, STRACE_UDP, &a, &b, (const uint8_t *)sip, n, &tv), 0);
  assert_int_equal(
      spcap_write(pc, STRACE_UDP, &a6, &b6, (const uint8_t *)sip, n, &tv), 0);
  assert_int_equal(
      spcap_write(pc, STRACE_TCP, &a, &b, (const uint8_t *)sip, n, &tv), 0);
  assert_int_equal(
      spcap_write(pc, STRACE_TCP, &a, &b, (const uint8_t *)sip, n, &tv), 0);
  /* mixed families are refused, nothing written */
  assert_int_equal(
      spcap_write(pc, STRACE_UDP, &a, &b6, (const uint8_t *)sip, n, &tv), -22);
  spcap_close(pc);

  size_t len;
  uint8_t *f = slurp(path, &len);
  unlink(path);
  assert_true(len > 24);
  assert_int_equal(rd32le(f), 0xa1b2c3d4);
  assert_int_equal(rd32le(f + 20), 1); /* LINKTYPE_ETHERNET */
  size_t off = 24;
  int rec = 0;
  uint32_t tcp_seq[2] = {0, 0};
  while (off < len) {
    assert_true(off + 16 <= len);
    uint32_t incl = rd32le(f + off + 8);
    assert_int_equal(rd32le(f + off), 1700000000);
    assert_int_equal(rd32le(f + off + 4), 123456);
    assert_int_equal(incl, rd32le(f + off + 12));
    const uint8_t *fr = f + off + 16;
    assert_true(off + 16 + incl <= len);
    int v6 = rd16(fr + 12) == 0x86dd;
    const uint8_t *ip = fr + 14;
    size_t iph = v6 ? 40 : 20;
    int proto = v6 ? ip[6] : ip[9];
    const uint8_t *l4 = ip + iph;
    size_t l4len;
    if (v6) {
      assert_int_equal(ip[0] >> 4, 6);
      l4len = rd16(ip + 4);
      assert_int_equal(ip[39], 1); /* ::1 */
    } else {
      assert_int_equal(rd16(fr + 12), 0x0800);
      assert_int_equal(ip[0], 0x45);
      assert_int_equal(rd16(ip + 2), incl - 14);
      assert_int_equal(strace_sum(ip, 20, 0), 0xffff); /* header checksum */
      assert_memory_equal(ip + 12, a.ip, 4);
      assert_memory_equal(ip + 16, b.ip, 4);
      l4len = rd16(ip + 2) - 20;
    }
    assert_int_equal(14 + iph + l4len, incl);
    assert_int_equal(rd16(l4), 5090);
    assert_int_equal(rd16(l4 + 2), 5060);
    check_l4_sum(ip, v6, proto, l4, l4len);
    size_t hl = proto == 17 ? 8 : 20;
    if (proto == 17) {
      assert_int_equal(rd16(l4 + 4), l4len);
    } else {
      assert_int_equal(proto, 6);
      assert_int_equal(l4[12] >> 4, 5);
      tcp_seq[rec - 2] = rd32(l4 + 4);
    }
    assert_int_equal(l4len - hl, n);
    assert_memory_equal(l4 + hl, sip, n);
    off += 16 + incl;
    rec++;
  }
  assert_int_equal(rec, 4);
  /* the second TCP segment continues the byte stream */
  assert_int_equal(tcp_seq[1], tcp_seq[0] + n);
}

/* When tshark is installed, it must dissect every record as SIP. */
static void test_pcap_tshark(void **state) {
  (void)state;
  if (system("command -v tshark >/dev/null 2>&1") != 0) {
    skip();
    return;
  }
  char path[256], cmd[600];
  snprintf(path, sizeof path, "%s/test_tshark_%ld.pcap", SIPLINED_TMP,
           (long)getpid());
  spcap *pc = NULL;
  assert_int_equal(spcap_open(&pc, path), 0);
  sipline_addr a = v4(127, 0, 0, 1, 5090), b = v4(127, 0, 0, 1, 5060);
  sipline_addr a6 = v6loop(5090), b6 = v6loop(5060);
  size_t n = sizeof sip - 1;
  const char resp[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;"
                      "branch=z9hG4bK1\r\nCSeq: 1 REGISTER\r\n"
                      "Content-Length: 0\r\n\r\n";
  spcap_write(pc, STRACE_UDP, &a, &b, (const uint8_t *)sip, n, NULL);
  spcap_write(pc, STRACE_UDP, &b, &a, (const uint8_t *)resp, sizeof resp - 1,
              NULL);
  spcap_write(pc, STRACE_UDP, &a6, &b6, (const uint8_t *)sip, n, NULL);
  spcap_write(pc, STRACE_TCP, &a, &b, (const uint8_t *)sip, n, NULL);
  spcap_close(pc);
  snprintf(cmd, sizeof cmd,
           "tshark -n -r %s -Y sip -T fields -e sip.CSeq.method "
           "-e sip.Status-Code 2>/dev/null",
           path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char out[1024] = "";
  size_t got = fread(out, 1, sizeof out - 1, p);
  out[got] = '\0';
  pclose(p);
  unlink(path);
  /* four SIP packets, the second one the 200 */
  int lines = 0;
  for (char *s = out; *s; s++)
    lines += *s == '\n';
  assert_int_equal(lines, 4);
  assert_non_null(strstr(out, "REGISTER\t200"));
}

static void test_hep(void **state) {
  (void)state;
  uint8_t buf[2048];
  sipline_addr a = v4(127, 0, 0, 1, 5090), b = v4(10, 0, 0, 2, 5060);
  struct timeval tv = {1700000000, 42};
  size_t n = sizeof sip - 1;
  size_t len = shep_encode(buf, sizeof buf, STRACE_UDP, &a, &b,
                           (const uint8_t *)sip, n, &tv, 2001);
  assert_true(len > 6 + n);
  assert_memory_equal(buf, "HEP3", 4);
  assert_int_equal(rd16(buf + 4), len);
  int seen[16] = {0};
  size_t off = 6;
  while (off < len) {
    assert_int_equal(rd16(buf + off), 0); /* vendor */
    uint16_t type = rd16(buf + off + 2), cl = rd16(buf + off + 4);
    assert_true(cl >= 6 && off + cl <= len);
    const uint8_t *v = buf + off + 6;
    if (type < 16)
      seen[type]++;
    switch (type) {
    case 1:
      assert_int_equal(v[0], 2);
      break;
    case 2:
      assert_int_equal(v[0], 17);
      break;
    case 3:
      assert_memory_equal(v, a.ip, 4);
      break;
    case 4:
      assert_memory_equal(v, b.ip, 4);
      break;
    case 7:
      assert_int_equal(rd16(v), 5090);
      break;
    case 8:
      assert_int_equal(rd16(v), 5060);
      break;
    case 9:
      assert_int_equal(rd32(v), 1700000000);
      break;
    case 11:
      assert_int_equal(v[0], 1);
      break;
    case 12:
      assert_int_equal(rd32(v), 2001);
      break;
    case 15:
      assert_int_equal(cl - 6, n);
      assert_memory_equal(v, sip, n);
      break;
    }
    off += cl;
  }
  assert_int_equal(off, len);
  for (int t = 1; t <= 12; t++)
    if (t != 5 && t != 6)
      assert_int_equal(seen[t], 1);
  assert_int_equal(seen[15], 1);
  /* too small a buffer is refused, not overrun */
  assert_int_equal(
      shep_encode(buf, 40, STRACE_UDP, &a, &b, (const uint8_t *)sip, n, &tv, 1),
      0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pcap_roundtrip),
      cmocka_unit_test(test_pcap_tshark),
      cmocka_unit_test(test_hep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
