/*
 * tests/fuzz/fuzz_auth_server.c: fuzzer-chosen Authorization values against
 * a digest server with a fixed secret, fixed nonces and a fixed clock. The
 * fuzzer does not know the line's password, so verify must never succeed;
 * and nothing may crash, leak or read out of bounds. The same bytes are also
 * fed to a client as a challenge, and the client's answer (made with a
 * wrong password) must fail verification too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

static sipline_auth_server *srv;
static sipline_rng rng;

/* The secret and the nonces issued at start-up are deterministic, so the
 * corpus can hold well-formed credentials for real nonces. */
static void init(void) {
  static const uint8_t secret[32] = "fuzz-secret-fuzz-secret-fuzz-sec";
  sipline_auth_server_cfg cfg = {
      .secret = secret,
      .secret_len = sizeof(secret),
      .algs = SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_MD5) |
              SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA256) |
              SIPLINE_DIGEST_BIT(SIPLINE_DIGEST_SHA512_256_SESS),
      .replay_slots = 16,
  };
  if (sipline_auth_server_new(&srv, &cfg, NULL) != 0)
    abort();
  sipline_rng_seed(&rng, 42);
  char out[1024];
  for (int i = 0; i < 4; i++) {
    sipline_auth_challenge ch = {.realm = sipline_pl_str("phone"),
                                 .rng = &rng,
                                 .now = (sipline_tstamp)(1000 * i)};
    if (sipline_auth_server_challenge(srv, &ch, out, sizeof(out)) <= 0)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!srv)
    init();
  /* A copy, so a read past the end is caught by ASan. */
  char *buf = malloc(size ? size : 1);
  if (!buf)
    return 0;
  if (size)
    memcpy(buf, data, size);
  sipline_pl v = {buf, size};
  sipline_auth_expect e = {.method = sipline_pl_str("NOTIFY"),
                           .request_uri = sipline_pl_str("sip:line1@10.0.0.2"),
                           .user = sipline_pl_str("line1"),
                           .realm = sipline_pl_str("phone"),
                           .password = sipline_pl_str("the-real-password"),
                           .body = sipline_pl_str("body")};
  int r = sipline_auth_server_verify(srv, v, &e, 5000);
  if (r == 0)
    abort(); /* the fuzzer cannot know the password */
  if (r != SIPLINE_ERR_AUTH && r != SIPLINE_ERR_STALE &&
      r != SIPLINE_ERR_REPLAY)
    abort();

  /* Same bytes as a challenge to a client with the wrong password. */
  sipline_auth_client *c = NULL;
  sipline_auth_client_cfg ccfg = {.username = "line1",
                                  .password = "a-guess",
                                  .flags = SIPLINE_AUTH_PREFER_AUTH_INT};
  if (sipline_auth_client_new(&c, &ccfg, NULL) == 0) {
    if (sipline_auth_client_challenge(c, SIPLINE_AUTH_WWW, &v, 1) == 0) {
      char hdr[4096];
      sipline_auth_req rq = {.method = sipline_pl_str("NOTIFY"),
                             .uri = sipline_pl_str("sip:line1@10.0.0.2"),
                             .body = sipline_pl_str("body"),
                             .rng = &rng};
      ptrdiff_t n = sipline_auth_client_header(c, 0, &rq, hdr, sizeof(hdr));
      if (n > 0) {
        if (memchr(hdr, '\r', (size_t)n) || memchr(hdr, '\n', (size_t)n))
          abort(); /* header injection */
        if (sipline_auth_server_verify(srv, (sipline_pl){hdr, (size_t)n}, &e,
                                       5000) == 0)
          abort();
      }
    }
    sipline_auth_client_del(c);
  }
  free(buf);
  return 0;
}
