/*
 * PROTOS c07-sip (OUSPG): all 4,527 cases through the parser, the validator,
 * the UAS check, every sub-parser on every header, and the printer (whose
 * output is parsed again), as a datagram and as a stream. PROTOS defines no
 * verdict beyond "survive": the test asserts no crash (ASan/UBSan build),
 * sane results (lengths within the buffer), that case 0 (the one valid
 * INVITE) is accepted, and prints the outcome per group of GROUPS.tsv.
 *
 * The server-transaction path (sipline_ua_recv) is replayed by the engine's
 * own tests, not here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sipline/msg.h"

#define NCASES 4527

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  b[n] = '\0';
  *len = (size_t)n;
  return b;
}

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* Fills the PROTOS placeholders; Content-Length is computed afterwards. */
static void fill(sbuf *out, const char *t, size_t n, int num) {
  static const struct {
    const char *key, *val;
  } ph[] = {
      {"<To>", "bob@192.0.2.2"},
      {"<From>", "alice@192.0.2.1"},
      {"<From-Address>", "192.0.2.1"},
      {"<From-IP>", "192.0.2.1"},
      {"<Local-Port>", "5060"},
      {"<Branch-ID>", "1"},
      {"<CSeq>", "1"},
      {"<Teardown-Method>", "CANCEL"},
  };
  char callid[32];
  snprintf(callid, sizeof(callid), "protos%07d", num);
  out->len = 0;
  size_t i = 0;
  while (i < n) {
    const char *lt = memchr(t + i, '<', n - i);
    if (lt == NULL) {
      put(out, t + i, n - i);
      break;
    }
    put(out, t + i, (size_t)(lt - (t + i)));
    i = (size_t)(lt - t);
    size_t k;
    for (k = 0; k < sizeof(ph) / sizeof(ph[0]); k++) {
      size_t kl = strlen(ph[k].key);
      if (n - i >= kl && memcmp(t + i, ph[k].key, kl) == 0) {
        put(out, ph[k].val, strlen(ph[k].val));
        i += kl;
        break;
      }
    }
    if (k < sizeof(ph) / sizeof(ph[0]))
      continue;
    if (n - i >= 9 && memcmp(t + i, "<Call-ID>", 9) == 0) {
      put(out, callid, strlen(callid));
      i += 9;
      continue;
    }
    put(out, "<", 1);
    i++;
  }
}

static void fill_cl(sbuf *in, sbuf *out) {
  static const char key[] = "<Content-Length>";
  const size_t kl = sizeof(key) - 1;
  size_t blen = 0;
  for (size_t i = 0; i + 4 <= in->len; i++)
    if (memcmp(in->p + i, "\r\n\r\n", 4) == 0) {
      blen = in->len - i - 4;
      break;
    }
  char num[24];
  int nl = snprintf(num, sizeof(num), "%zu", blen);
  out->len = 0;
  size_t i = 0;
  while (i < in->len) {
    if (in->len - i >= kl && memcmp(in->p + i, key, kl) == 0) {
      put(out, num, (size_t)nl);
      i += kl;
    } else {
      put(out, in->p + i, 1);
      i++;
    }
  }
}

static sipline_msg m, m2;

/* Every sub-parser on every header it applies to. */
static unsigned sub_parsers(const sipline_msg *msg) {
  unsigned ok = 0;
  for (unsigned i = 0; i < msg->n_hdrs; i++) {
    const sipline_hdr *h = &msg->hdrs[i];
    sipline_pl rest = h->value, item;
    sipline_via v;
    sipline_nameaddr na;
    sipline_auth_hdr a;
    sipline_uri u;
    sipline_pl val;
    switch (h->id) {
    case SIPLINE_HDR_VIA:
      while (sipline_list_next(&rest, &item) == 1)
        ok += sipline_via_parse(item, &v) == 0;
      break;
    case SIPLINE_HDR_CONTACT:
    case SIPLINE_HDR_ROUTE:
    case SIPLINE_HDR_RECORD_ROUTE:
      while (sipline_list_next(&rest, &item) == 1)
        if (sipline_nameaddr_parse(item, &na) == 0) {
          ok++;
          ok += sipline_param_get(na.params, "expires", &val) == 0;
          ok += sipline_param_get(na.uri.params, "lr", &val) == 0;
        }
      break;
    case SIPLINE_HDR_FROM:
    case SIPLINE_HDR_TO:
      ok += sipline_nameaddr_parse(h->value, &na) == 0;
      break;
    case SIPLINE_HDR_AUTHORIZATION:
    case SIPLINE_HDR_WWW_AUTHENTICATE:
      if (sipline_auth_hdr_parse(h->value, &a) == 0)
        ok += sipline_auth_hdr_get(&a, "nonce", &val) == 0;
      break;
    default:
      ok += sipline_uri_parse(h->value, &u) == 0;
      break;
    }
  }
  return ok;
}

typedef struct group {
  char name[64];
  int first, count;
  int parsed, valid;
} group;

static void test_protos(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof(path), "%s/protos/GROUPS.tsv", SIPLINE_TESTDATA);
  size_t glen;
  char *gtext = read_file(path, &glen);
  assert_non_null(gtext);
  group groups[128];
  int ng = 0;
  char *save = NULL;
  for (char *line = strtok_r(gtext, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    group g = {{0}, 0, 0, 0, 0};
    int last;
    if (sscanf(line, "%63s %d %d %d", g.name, &g.first, &g.count, &last) == 4 &&
        ng < 128)
      groups[ng++] = g;
  }
  free(gtext);
  assert_true(ng > 50);

  sbuf t1 = {0}, t2 = {0};
  char *pbuf = NULL;
  size_t pcap = 0;
  int total = 0, parsed = 0, valid = 0, uas_ok = 0, printed = 0;
  for (int num = 0; num < NCASES; num++) {
    snprintf(path, sizeof(path), "%s/protos/cases/%07d", SIPLINE_TESTDATA, num);
    size_t len;
    char *file = read_file(path, &len);
    if (file == NULL)
      fail_msg("%s: missing", path);
    char *sp = memchr(file, ' ', len < 16 ? len : 16);
    assert_non_null(sp);
    size_t rlen = strtoul(file, NULL, 10);
    const char *rec = sp + 1;
    assert_true(rlen <= len - (size_t)(rec - file));
    fill(&t1, rec, rlen, num);
    fill_cl(&t1, &t2);
    free(file);
    total++;

    sipline_msg_error e = {0};
    ptrdiff_t r =
        sipline_msg_parse(&m, t2.p, t2.len, SIPLINE_PARSE_DATAGRAM, &e);
    bool is_valid = false;
    const bool did_parse = r >= 0;
    if (r >= 0) {
      assert_true((size_t)r <= t2.len);
      assert_true(m.body.p + m.body.len <= t2.p + t2.len);
      parsed++;
      (void)sub_parsers(&m);
      if (sipline_msg_validate(&m, &e) == 0) {
        valid++;
        is_valid = true;
      } else {
        assert_non_null(e.reason);
      }
      if (sipline_msg_uas_check(&m, NULL, &e) == 0 && is_valid)
        uas_ok++;
      size_t cap = t2.len * 2 + 256;
      if (cap > pcap) {
        pcap = cap;
        pbuf = realloc(pbuf, pcap);
        assert_non_null(pbuf);
      }
      ptrdiff_t pn = sipline_msg_print(&m, pbuf, pcap);
      assert_true(pn > 0);
      /* The printer's output frames itself on a stream. */
      ptrdiff_t r2 =
          sipline_msg_parse(&m2, pbuf, (size_t)pn, SIPLINE_PARSE_STREAM, &e);
      if (r2 == (ptrdiff_t)pn)
        printed++;
    } else {
      assert_true(r == SIPLINE_ERR_MALFORMED || r == SIPLINE_ERR_TOOBIG);
      assert_non_null(e.reason);
    }
    /* Stream mode on the same bytes, and on a prefix. */
    r = sipline_msg_parse(&m2, t2.p, t2.len, SIPLINE_PARSE_STREAM, &e);
    assert_true(r <= (ptrdiff_t)t2.len);
    r = sipline_msg_parse(&m2, t2.p, t2.len / 2, SIPLINE_PARSE_STREAM, &e);
    assert_true(r <= (ptrdiff_t)(t2.len / 2));
    if (num == 0) {
      assert_true(is_valid);
      assert_int_equal(sipline_msg_uas_check(&m, NULL, &e), 0);
      assert_true(
          sipline_pl_eq(m.call_id, SIPLINE_PL("protos0000000@192.0.2.1")));
    }
    for (int g = 0; g < ng; g++)
      if (num >= groups[g].first && num < groups[g].first + groups[g].count) {
        groups[g].parsed += did_parse;
        groups[g].valid += is_valid;
        break;
      }
  }
  free(t1.p);
  free(t2.p);
  free(pbuf);
  printf("protos: %d cases: %d parsed, %d valid, %d invalid, %d accepted by "
         "the UAS check, %d printed+reparsed\n",
         total, parsed, valid, total - valid, uas_ok, printed);
  printf("%-30s %6s %6s %6s %8s\n", "group", "cases", "parsed", "valid",
         "invalid");
  for (int g = 0; g < ng; g++)
    printf("%-30s %6d %6d %6d %8d\n", groups[g].name, groups[g].count,
           groups[g].parsed, groups[g].valid,
           groups[g].count - groups[g].valid);
  assert_int_equal(total, NCASES);
  assert_int_equal(printed, parsed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_protos),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
