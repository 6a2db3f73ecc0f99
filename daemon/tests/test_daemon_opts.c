/*
 * Unit tests of siplined's command line (daemon/opts.c), of the text log's
 * redaction of credentials (daemon/log.c), and of the exit codes and the
 * one-line errors of the real binary on bad profiles and bad options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "opts.h"

static int parse(sd_opts *o, char *err, size_t cap, ...) {
  char *argv[64];
  int argc = 0;
  va_list ap;
  va_start(ap, cap);
  argv[argc++] = "siplined";
  char *a;
  while ((a = va_arg(ap, char *)) != NULL && argc < 63)
    argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  FILE *out = fopen("/dev/null", "w");
  int rc = sd_opts_parse(o, argc, argv, out, err, cap);
  fclose(out);
  return rc;
}

static void test_opts_defaults(void **state) {
  (void)state;
  sd_opts o;
  char err[256];
  assert_int_equal(parse(&o, err, sizeof err, "-c", "p.xml", NULL), 0);
  assert_string_equal(o.config, "p.xml");
  assert_int_equal(o.n_bind, 1);
  assert_string_equal(o.bind[0], "127.0.0.1");
  assert_int_equal(o.port_base, 0);
  assert_int_equal(o.log_level, SLOG_INFO);
  assert_int_equal(o.shutdown_ms, 1500);
  assert_int_equal(o.fetch_max, 1024 * 1024);
  assert_null(o.control);
}

static void test_opts_all(void **state) {
  (void)state;
  sd_opts o;
  char err[256];
  assert_int_equal(
      parse(&o, err, sizeof err, "--config=p.xml", "--check", "-b", "::1",
            "--bind", "127.0.0.2", "--port-base", "5090", "-s", "/tmp/x.sock",
            "-l", "debug", "--trace", "t.pcap", "--hep", "127.0.0.1:9060",
            "--hep-id", "7", "--ca-file", "ca.pem", "--tls-no-verify",
            "--dns-server", "127.0.0.1:5353", "--event-history", "10",
            "--fetch-timeout", "3", "--fetch-connect-timeout", "2",
            "--fetch-max-bytes", "1000", "--connect-timeout", "4",
            "--shutdown-grace", "900", "--pid-file", "x.pid", "--advertise",
            "192.0.2.1", "--syslog", NULL),
      0);
  assert_int_equal(o.check, 1);
  assert_int_equal(o.n_bind, 2);
  assert_string_equal(o.bind[0], "::1");
  assert_string_equal(o.bind[1], "127.0.0.2");
  assert_int_equal(o.port_base, 5090);
  assert_string_equal(o.control, "/tmp/x.sock");
  assert_int_equal(o.log_level, SLOG_DEBUG);
  assert_string_equal(o.trace, "t.pcap");
  assert_string_equal(o.hep, "127.0.0.1:9060");
  assert_int_equal(o.hep_id, 7);
  assert_int_equal(o.tls_no_verify, 1);
  assert_int_equal(o.history, 10);
  assert_int_equal(o.fetch_total_ms, 3000);
  assert_int_equal(o.fetch_connect_ms, 2000);
  assert_int_equal(o.fetch_max, 1000);
  assert_int_equal(o.connect_ms, 4000);
  assert_int_equal(o.shutdown_ms, 900);
  assert_int_equal(o.use_syslog, 1);
  assert_string_equal(o.advertise, "192.0.2.1");
}

/* --challenge-limit(-global) RATE[/BURST]: BURST defaults to 2 x RATE;
 * unset keeps 0 (the core's defaults). */
static void test_opts_challenge_limit(void **state) {
  (void)state;
  sd_opts o;
  char err[256];
  assert_int_equal(parse(&o, err, sizeof err, "-c", "p", NULL), 0);
  assert_int_equal(o.ch_rate, 0);
  assert_int_equal(o.ch_global_rate, 0);
  assert_int_equal(parse(&o, err, sizeof err, "-c", "p", "--challenge-limit",
                         "500", "--challenge-limit-global", "2000/9000",
                         NULL),
                   0);
  assert_int_equal(o.ch_rate, 500);
  assert_int_equal(o.ch_burst, 1000);
  assert_int_equal(o.ch_global_rate, 2000);
  assert_int_equal(o.ch_global_burst, 9000);
  const char *bad[] = {"0", "-1", "10/0", "10/", "/10", "x", "1000001",
                       "10/20/30", "99999999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(parse(&o, err, sizeof err, "-c", "p", "--challenge-limit",
                           bad[i], NULL),
                     2);
    assert_non_null(strstr(err, "--challenge-limit"));
  }
}

/* --max-pending N: 256 by default, 0 turns the window off. */
static void test_opts_max_pending(void **state) {
  (void)state;
  sd_opts o;
  char err[256];
  assert_int_equal(parse(&o, err, sizeof err, "-c", "p", NULL), 0);
  assert_int_equal(o.max_pending, 256);
  assert_int_equal(
      parse(&o, err, sizeof err, "-c", "p", "--max-pending", "0", NULL), 0);
  assert_int_equal(o.max_pending, 0);
  assert_int_equal(
      parse(&o, err, sizeof err, "-c", "p", "--max-pending", "8", NULL), 0);
  assert_int_equal(o.max_pending, 8);
  const char *bad[] = {"-1", "x", "1000001", "", "8k"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(
        parse(&o, err, sizeof err, "-c", "p", "--max-pending", bad[i], NULL),
        2);
    assert_non_null(strstr(err, "--max-pending"));
  }
}

static void test_opts_errors(void **state) {
  (void)state;
  sd_opts o;
  char err[256];
  assert_int_equal(parse(&o, err, sizeof err, NULL), 2);
  assert_non_null(strstr(err, "-c PROFILE.xml"));
  assert_int_equal(
      parse(&o, err, sizeof err, "-c", "p", "--port-base", "0", NULL), 2);
  assert_non_null(strstr(err, "--port-base"));
  assert_int_equal(
      parse(&o, err, sizeof err, "-c", "p", "--port-base", "70000", NULL), 2);
  assert_int_equal(parse(&o, err, sizeof err, "-c", "p", "-l", "loud", NULL),
                   2);
  assert_non_null(strstr(err, "loud"));
  assert_int_equal(parse(&o, err, sizeof err, "-c", "p", "--bogus", NULL), 2);
  assert_non_null(strstr(err, "--bogus"));
  assert_int_equal(parse(&o, err, sizeof err, "-c", NULL), 2);
  assert_non_null(strstr(err, "needs a value"));
  assert_int_equal(parse(&o, err, sizeof err, "-c", "p", "extra", NULL), 2);
  assert_int_equal(parse(&o, err, sizeof err, "-c", "p", "-b", "a", "-b", "b",
                         "-b", "c", "-b", "d", "-b", "e", NULL),
                   2);
  assert_int_equal(
      parse(&o, err, sizeof err, "-c", "p", "--fetch-timeout", "-1", NULL), 2);
  assert_int_equal(parse(&o, err, sizeof err, "--help", NULL), 1);
  assert_int_equal(parse(&o, err, sizeof err, "-V", NULL), 1);
}

static void test_redact(void **state) {
  (void)state;
  const char msg[] = "REGISTER sip:example.test SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1\r\n"
                     "Authorization: Digest username=\"1001\", realm=\"x\", "
                     "response=\"0123456789abcdef0123456789abcdef\"\r\n"
                     "proxy-authorization : Digest username=\"1001\",\r\n"
                     "  response=\"fedcba9876543210fedcba9876543210\"\r\n"
                     "WWW-Authenticate: Digest realm=\"x\"\r\n"
                     "Content-Length: 21\r\n"
                     "\r\n"
                     "Authorization: body!\n";
  char out[1024];
  size_t n = slog_redact(msg, sizeof msg - 1, out, sizeof out);
  assert_int_equal(n, strlen(out));
  assert_null(strstr(out, "0123456789abcdef"));
  assert_null(strstr(out, "fedcba98"));
  assert_non_null(strstr(out, "Authorization: <redacted>\r\n"));
  assert_non_null(strstr(out, "proxy-authorization : <redacted>\r\n"));
  assert_non_null(strstr(out, "WWW-Authenticate: Digest realm=\"x\"\r\n"));
  /* the body is copied as it is */
  assert_non_null(strstr(out, "\r\n\r\nAuthorization: body!\n"));
  /* truncation keeps a NUL */
  char small[8];
  assert_int_equal(slog_redact(msg, sizeof msg - 1, small, sizeof small), 7);
  assert_int_equal(small[7], '\0');
}

/* Runs the binary; returns its exit status and its stderr in err. */
static int run(const char *args, char *err, size_t cap) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s 2>&1 >/dev/null", SIPLINED_BIN, args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(err, 1, cap - 1, p);
  err[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *s) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(s, f);
  fclose(f);
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void test_cli_exit_codes(void **state) {
  (void)state;
  char p[256], a[512], err[2048];
  snprintf(p, sizeof p, "%s/cli_%ld.xml", SIPLINED_TMP, (long)getpid());

  /* a malformed value: exit 2, ONE line with file:line, tag and value */
  write_file(p, "<flat-profile>\n  <Proxy_1_>127.0.0.1</Proxy_1_>\n"
                "  <Password_1_>hunter2</Password_1_>\n"
                "  <Register_Expires_1_>10</Register_Expires_1_>\n"
                "</flat-profile>\n");
  snprintf(a, sizeof a, "-c %s", p);
  assert_int_equal(run(a, err, sizeof err), 2);
  assert_int_equal(count_lines(err), 1);
  assert_non_null(strstr(err, ":4:"));
  assert_non_null(strstr(err, "Register_Expires_1_"));
  assert_non_null(strstr(err, "10"));
  assert_null(strstr(err, "hunter2"));
  snprintf(a, sizeof a, "--check -c %s", p);
  assert_int_equal(run(a, err, sizeof err), 2);
  assert_int_equal(count_lines(err), 1);

  /* broken XML: exit 2, one line naming the file line */
  write_file(p, "<flat-profile>\n<Proxy_1_>x</Proxy_1_>\n<a></b>\n");
  snprintf(a, sizeof a, "--check -c %s", p);
  assert_int_equal(run(a, err, sizeof err), 2);
  assert_int_equal(count_lines(err), 1);
  assert_non_null(strstr(err, ":3:"));

  /* a good profile: --check exits 0 and says nothing on stderr */
  write_file(p, "<flat-profile>\n<Proxy_1_>127.0.0.1:5060</Proxy_1_>\n"
                "<User_ID_1_>1001</User_ID_1_>\n"
                "<Password_1_>hunter2</Password_1_>\n</flat-profile>\n");
  snprintf(a, sizeof a, "--check -c %s", p);
  assert_int_equal(run(a, err, sizeof err), 0);
  assert_string_equal(err, "");
  /* the same with --check output on stdout never shows the password */
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s --check -c %s 2>&1", SIPLINED_BIN, p);
  FILE *f = popen(cmd, "r");
  size_t n = fread(err, 1, sizeof err - 1, f);
  err[n] = '\0';
  assert_int_equal(pclose(f), 0);
  assert_non_null(strstr(err, "OK"));
  assert_null(strstr(err, "hunter2"));

  /* missing file, bad options: exit 2 with one line */
  assert_int_equal(run("-c /nonexistent/profile.xml", err, sizeof err), 2);
  assert_int_equal(count_lines(err), 1);
  assert_int_equal(run("--bogus", err, sizeof err), 2);
  assert_int_equal(count_lines(err), 1);
  assert_int_equal(run("", err, sizeof err), 2);
  assert_int_equal(run("--help", err, sizeof err), 0);
  unlink(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_opts_defaults),  cmocka_unit_test(test_opts_all),
      cmocka_unit_test(test_opts_challenge_limit),
      cmocka_unit_test(test_opts_max_pending),
      cmocka_unit_test(test_opts_errors),    cmocka_unit_test(test_redact),
      cmocka_unit_test(test_cli_exit_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
