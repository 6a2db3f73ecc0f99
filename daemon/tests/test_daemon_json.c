/*
 * Unit tests of the control protocol: the JSON of events and status
 * (daemon/ctljson.c), the event ring's history and eviction, and the
 * protocol spoken by a real siplined on its Unix socket (a profile with
 * Register = No, so nothing leaves the host).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctljson.h"
#include "slab.h"

static const sj_clock ck = {1700000000000LL}; /* 2023-11-14T22:13:20Z */

static cJSON *roundtrip(cJSON *o) {
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  assert_non_null(s);
  assert_null(strchr(s, '\n')); /* one line */
  cJSON *r = cJSON_Parse(s);
  cJSON_free(s);
  assert_non_null(r);
  return r;
}

static const char *gs(const cJSON *o, const char *k) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}
static double gn(const cJSON *o, const char *k) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
  assert_true(cJSON_IsNumber(it));
  return it->valuedouble;
}

static void test_iso(void **state) {
  (void)state;
  char b[40];
  sj_iso(1700000000123LL, b, sizeof b);
  assert_string_equal(b, "2023-11-14T22:13:20.123Z");
  sj_iso(0, b, sizeof b);
  assert_string_equal(b, "1970-01-01T00:00:00.000Z");
  sipline_addr a = {6, {0}, 5060};
  a.ip[15] = 1;
  sj_addr(&a, b, sizeof b);
  assert_string_equal(b, "[::1]:5060");
}

static void test_event_fields(void **state) {
  (void)state;
  sipline_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = SIPLINE_EV_REGISTERED;
  ev.t = 61500;
  ev.line = 1;
  ev.expires = 60;
  strcpy(ev.server, "127.0.0.1:5060");
  strcpy(ev.reason, "ignored for registered");
  cJSON *o = roundtrip(sj_event(&ev, &ck));
  assert_string_equal(gs(o, "event"), "registered");
  assert_string_equal(gs(o, "time"), "2023-11-14T22:14:21.500Z");
  assert_true(gn(o, "t") == 61.5);
  assert_true(gn(o, "line") == 1);
  assert_true(gn(o, "expires") == 60);
  assert_string_equal(gs(o, "server"), "127.0.0.1:5060");
  assert_null(cJSON_GetObjectItem(o, "reason"));
  assert_string_equal(o->child->string, "seq"); /* seq leads each line */
  cJSON_Delete(o);

  memset(&ev, 0, sizeof ev);
  ev.type = SIPLINE_EV_REG_FAILED;
  ev.line = 2;
  ev.retry_in = SIPLINE_TSTAMP_NONE;
  strcpy(ev.server, "10.0.0.1:5060");
  strcpy(ev.reason, "timeout");
  o = roundtrip(sj_event(&ev, &ck));
  assert_string_equal(gs(o, "event"), "reg_failed");
  assert_string_equal(gs(o, "reason"), "timeout");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "retry_in")));
  cJSON_Delete(o);
  ev.retry_in = 30000;
  o = roundtrip(sj_event(&ev, &ck));
  assert_true(gn(o, "retry_in") == 30);
  cJSON_Delete(o);

  memset(&ev, 0, sizeof ev);
  ev.type = SIPLINE_EV_FAILOVER;
  ev.line = 1;
  strcpy(ev.from, "10.0.0.1:5060");
  strcpy(ev.to, "10.0.0.2:5060");
  strcpy(ev.reason, "timeout");
  o = roundtrip(sj_event(&ev, &ck));
  assert_string_equal(gs(o, "event"), "failover");
  assert_string_equal(gs(o, "from"), "10.0.0.1:5060");
  assert_string_equal(gs(o, "to"), "10.0.0.2:5060");
  cJSON_Delete(o);

  memset(&ev, 0, sizeof ev);
  ev.type = SIPLINE_EV_EXECUTE;
  ev.line = 1;
  ev.priority = 1;
  strcpy(ev.state, "queued");
  strcpy(ev.text, "http://127.0.0.1:8000/a.xml\"quoted\"");
  o = roundtrip(sj_event(&ev, &ck));
  assert_string_equal(gs(o, "event"), "execute");
  assert_string_equal(gs(o, "url"), "http://127.0.0.1:8000/a.xml\"quoted\"");
  assert_string_equal(gs(o, "state"), "queued");
  assert_true(gn(o, "priority") == 1);
  cJSON_Delete(o);

  memset(&ev, 0, sizeof ev);
  ev.type = SIPLINE_EV_DNS_QUERY;
  ev.id = 7;
  ev.qtype = SIPLINE_DNS_SRV;
  strcpy(ev.text, "_sip._udp.example.test");
  o = roundtrip(sj_event(&ev, &ck));
  assert_string_equal(gs(o, "qtype"), "SRV");
  assert_string_equal(gs(o, "name"), "_sip._udp.example.test");
  assert_null(cJSON_GetObjectItem(o, "line")); /* not about one line */
  cJSON_Delete(o);
}

static void test_message_event(void **state) {
  (void)state;
  sipline_path p;
  memset(&p, 0, sizeof p);
  p.tp = SIPLINE_TP_TCP;
  p.remote.family = 4;
  p.remote.ip[0] = 127, p.remote.ip[3] = 1;
  p.remote.port = 5060;
  const char req[] = "REGISTER sip:x SIP/2.0\r\ni: abc@h\r\n"
                     "CSeq:  42 REGISTER\r\n\r\n";
  cJSON *o = roundtrip(
      sj_message(1, &p, (const uint8_t *)req, sizeof req - 1, 1000, &ck));
  assert_string_equal(gs(o, "event"), "tx");
  assert_string_equal(gs(o, "method"), "REGISTER");
  assert_string_equal(gs(o, "to"), "127.0.0.1:5060");
  assert_string_equal(gs(o, "transport"), "TCP");
  assert_string_equal(gs(o, "call_id"), "abc@h");
  assert_true(gn(o, "cseq") == 42);
  cJSON_Delete(o);
  const char resp[] = "SIP/2.0 503 Busy\r\nCSeq: 2 REGISTER\r\n\r\n";
  o = roundtrip(
      sj_message(0, &p, (const uint8_t *)resp, sizeof resp - 1, 0, &ck));
  assert_string_equal(gs(o, "event"), "rx");
  assert_true(gn(o, "status") == 503);
  assert_string_equal(gs(o, "from"), "127.0.0.1:5060");
  assert_string_equal(gs(o, "cseq_method"), "REGISTER");
  cJSON_Delete(o);
  /* a CRLF keep-alive is no message */
  assert_null(sj_message(0, &p, (const uint8_t *)"\r\n\r\n", 4, 0, &ck));
}

static void test_line_status(void **state) {
  (void)state;
  sipline_line_status st;
  memset(&st, 0, sizeof st);
  st.line = 1;
  strcpy(st.aor, "1001@example.test");
  strcpy(st.state, "registered");
  strcpy(st.current, "10.0.0.2:5060");
  st.expires = 60;
  st.next_refresh = 50000;
  st.fallback_at = SIPLINE_TSTAMP_NONE;
  st.n_servers = 2;
  strcpy(st.servers[0].addr, "10.0.0.1:5060");
  st.servers[0].up = 0;
  st.servers[0].since = 2000;
  strcpy(st.servers[1].addr, "10.0.0.2:5060");
  st.servers[1].up = 1;
  st.servers[1].registered = 1;
  st.servers[1].expires = 60;
  st.servers[1].expires_at = 62000;
  cJSON *o = roundtrip(sj_line_status(&st, &ck, 10000));
  assert_string_equal(gs(o, "state"), "registered");
  assert_true(gn(o, "next_refresh_in") == 40);
  assert_string_equal(gs(o, "next_refresh"), "2023-11-14T22:14:10.000Z");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "fallback_at")));
  const cJSON *sv = cJSON_GetObjectItem(o, "servers");
  assert_int_equal(cJSON_GetArraySize(sv), 2);
  const cJSON *s0 = cJSON_GetArrayItem(sv, 0), *s1 = cJSON_GetArrayItem(sv, 1);
  assert_string_equal(gs(s0, "state"), "DOWN");
  assert_string_equal(gs(s0, "since"), "2023-11-14T22:13:22.000Z");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(s0, "registered")));
  assert_string_equal(gs(s1, "state"), "UP");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(s1, "registered")));
  assert_string_equal(gs(s1, "expires_at"), "2023-11-14T22:14:22.000Z");
  const cJSON *reg = cJSON_GetObjectItem(o, "registered_at");
  assert_int_equal(cJSON_GetArraySize(reg), 1);
  assert_string_equal(cJSON_GetArrayItem(reg, 0)->valuestring, "10.0.0.2:5060");
  cJSON_Delete(o);
}

static void test_ring(void **state) {
  (void)state;
  sj_ring *r = sj_ring_new(3);
  assert_null(sj_ring_first_after(r, 0));
  for (int i = 0; i < 5; i++) {
    cJSON *o = sj_event_new(i == 3 ? "tx" : "x", (sipline_tstamp)i, 0, &ck);
    const sj_entry *e = sj_ring_push(r, o, i == 3);
    assert_non_null(e);
    assert_int_equal(e->seq, (uint64_t)i + 1);
    assert_non_null(strstr(e->json, "\"seq\":"));
    assert_true(strncmp(e->json, "{\"seq\":", 7) == 0);
  }
  assert_int_equal(sj_ring_next_seq(r), 6);
  /* 1 and 2 were evicted: a client asking since 0 gets 3, 4, 5 */
  const sj_entry *e = sj_ring_first_after(r, 0);
  assert_int_equal(e->seq, 3);
  e = sj_ring_after(r, e);
  assert_int_equal(e->seq, 4);
  assert_int_equal(e->message, 1);
  e = sj_ring_after(r, e);
  assert_int_equal(e->seq, 5);
  assert_null(sj_ring_after(r, e));
  assert_int_equal(sj_ring_first_after(r, 4)->seq, 5);
  assert_null(sj_ring_first_after(r, 5));
  assert_null(sj_ring_first_after(r, 99));
  sj_ring_del(r);
}

/*
 * The ring's lines share one byte arena (1 KiB per event of capacity):
 * lines of random sizes, some longer than the arena, pushed 20,000 times;
 * what is kept is always the newest lines, contiguous in seq, each intact,
 * and never more than cap or than the arena holds.
 */
static void test_ring_arena(void **state) {
  (void)state;
  const size_t cap = 8;
  sj_ring *r = sj_ring_new(cap);
  static char big[12000];
  uint32_t x = 12345;
  for (uint64_t i = 1; i <= 20000; i++) {
    x = x * 1103515245u + 12345u;
    size_t len = (x >> 8) % 100 == 0 ? 9000 : (x >> 8) % 1500;
    memset(big, 'a' + (int)(i % 26), len);
    big[len] = 0;
    cJSON *o = sj_event_new("x", 0, 0, &ck);
    cJSON_AddStringToObject(o, "v", big);
    cJSON_AddNumberToObject(o, "i", (double)i);
    const sj_entry *e = sj_ring_push(r, o, 0);
    assert_non_null(e);
    assert_int_equal(e->seq, i);
    /* every kept line is intact and they run up to i without a gap */
    size_t kept = 0, bytes = 0;
    uint64_t want = 0;
    for (const sj_entry *k = sj_ring_first_after(r, 0); k;
         k = sj_ring_after(r, k)) {
      if (want)
        assert_int_equal(k->seq, want);
      want = k->seq + 1;
      cJSON *p = cJSON_Parse(k->json);
      assert_non_null(p);
      assert_int_equal(
          (uint64_t)cJSON_GetObjectItem(p, "i")->valuedouble, k->seq);
      const char *v = cJSON_GetObjectItem(p, "v")->valuestring;
      for (size_t j = 0; v[j]; j++)
        assert_int_equal(v[j], 'a' + (int)(k->seq % 26));
      cJSON_Delete(p);
      kept++;
      if (strlen(k->json) + 1 <= cap * SJ_RING_BYTES_PER_EVENT) /* else a malloc block */
        bytes += strlen(k->json) + 1;
    }
    assert_int_equal(want, i + 1);
    assert_true(kept >= 1 && kept <= cap);
    assert_true(bytes <= cap * SJ_RING_BYTES_PER_EVENT);
  }
  sj_ring_del(r);
}

/* The Cisco object type of a fetched document: its root element. */
int fetch_xml_root(const char *p, size_t n, char *out, size_t cap);

static void test_xml_root(void **state) {
  (void)state;
  char r[64];
  const char *doc = "<?xml version=\"1.0\"?>\n<!-- menu -->\n"
                    "<CiscoIPPhoneMenu><Title>x</Title></CiscoIPPhoneMenu>";
  assert_int_equal(fetch_xml_root(doc, strlen(doc), r, sizeof r), 0);
  assert_string_equal(r, "CiscoIPPhoneMenu");
  /* the root is known before the document ends (or even is well formed) */
  doc = "<CiscoIPPhoneText><Text>trunc";
  assert_int_equal(fetch_xml_root(doc, strlen(doc), r, sizeof r), 0);
  assert_string_equal(r, "CiscoIPPhoneText");
  /* an entity declaration stops the reader before any expansion */
  doc = "<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
        "<x>&b;</x>";
  assert_int_equal(fetch_xml_root(doc, strlen(doc), r, sizeof r), -1);
  doc = "not xml at all";
  assert_int_equal(fetch_xml_root(doc, strlen(doc), r, sizeof r), -1);
  assert_int_equal(fetch_xml_root("", 0, r, sizeof r), -1);
  /* a long name is cut to the buffer, never overrun */
  char small[8];
  doc = "<CiscoIPPhoneDirectory/>";
  assert_int_equal(fetch_xml_root(doc, strlen(doc), small, sizeof small), 0);
  assert_string_equal(small, "CiscoIP");
}

/* ---- the protocol on a real daemon ------------------------------------- */

static pid_t daemon_pid;
static char sock_path[200], prof_path[200];

static FILE *ctl_connect(void) {
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  strcpy(sun.sun_path, sock_path);
  for (int i = 0; i < 100; i++) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
      return fdopen(fd, "r+");
    close(fd);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  fail_msg("no control socket at %s", sock_path);
  return NULL;
}

static cJSON *ask(FILE *f, const char *req) {
  fprintf(f, "%s\n", req);
  fflush(f);
  static char line[1 << 16];
  assert_non_null(fgets(line, sizeof line, f));
  cJSON *o = cJSON_Parse(line);
  assert_non_null(o);
  return o;
}

static int start_daemon(void **state) {
  (void)state;
  snprintf(sock_path, sizeof sock_path, "%s/json_%ld.sock", SIPLINED_TMP,
           (long)getpid());
  snprintf(prof_path, sizeof prof_path, "%s/json_%ld.xml", SIPLINED_TMP,
           (long)getpid());
  FILE *f = fopen(prof_path, "w");
  fputs("<flat-profile>\n<Proxy_1_>127.0.0.1:9</Proxy_1_>\n"
        "<User_ID_1_>1001</User_ID_1_>\n<Register_1_>No</Register_1_>\n"
        "</flat-profile>\n",
        f);
  fclose(f);
  daemon_pid = fork();
  if (daemon_pid == 0) {
    /* a port the kernel says is free now (parallel tests must not clash) */
    char port[16];
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sin;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
      _exit(126);
    snprintf(port, sizeof port, "%u", ntohs(sin.sin_port));
    close(fd);
    execl(SIPLINED_BIN, "siplined", "-c", prof_path, "-s", sock_path, "-p",
          port, "-l", "warn", (char *)NULL);
    _exit(127);
  }
  return daemon_pid > 0 ? 0 : -1;
}

static int stop_daemon(void **state) {
  (void)state;
  if (daemon_pid > 0) {
    kill(daemon_pid, SIGTERM);
    int st;
    waitpid(daemon_pid, &st, 0);
  }
  unlink(prof_path);
  return 0;
}

static void test_protocol(void **state) {
  (void)state;
  FILE *f = ctl_connect();
  cJSON *o = ask(f, "{\"cmd\":\"status\"}");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
  assert_string_equal(gs(o, "state"), "running");
  assert_true(gn(o, "pid") == daemon_pid);
  const cJSON *lines = cJSON_GetObjectItem(o, "lines");
  assert_true(cJSON_IsArray(lines));
  assert_int_equal(cJSON_GetArraySize(lines), 1);
  assert_true(gn(cJSON_GetArrayItem(lines, 0), "line") == 1);
  /* the core's blocks are in the daemon's slab (slab.c), not malloc's,
   * except under AddressSanitizer, which must see them */
  const cJSON *core =
      cJSON_GetObjectItem(cJSON_GetObjectItem(o, "heap"), "core");
#ifdef SD_SLAB_ASAN
  assert_null(core);
#else
  assert_non_null(core);
  assert_true(gn(core, "in_use") > 0);
  assert_true(gn(core, "spans") > 0);
  assert_true(gn(core, "fallback") == 0);
#endif
  cJSON_Delete(o);

  /* several requests on one connection; errors are replies, not hangups */
  o = ask(f, "this is not json");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "ok")));
  cJSON_Delete(o);
  o = ask(f, "{\"cmd\":\"dance\"}");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "ok")));
  assert_non_null(strstr(gs(o, "error"), "unknown command"));
  cJSON_Delete(o);
  o = ask(f, "{\"nocmd\":1}");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "ok")));
  cJSON_Delete(o);
  o = ask(f, "{\"cmd\":\"call\",\"line\":1}");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "ok")));
  assert_non_null(strstr(gs(o, "error"), "\"to\""));
  cJSON_Delete(o);
  o = ask(f, "{\"cmd\":\"hangup\"}");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "ok")));
  cJSON_Delete(o);
  o = ask(f, "{\"cmd\":\"version\"}");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
  assert_string_equal(gs(o, "version"), SIPLINE_VERSION);
  cJSON_Delete(o);

  /* history: the "started" event is #1; the reply ends the history */
  o = ask(f, "{\"cmd\":\"events\",\"since\":0}");
  assert_true(gn(o, "seq") == 1);
  assert_string_equal(gs(o, "event"), "started");
  assert_non_null(gs(o, "time"));
  cJSON_Delete(o);
  uint64_t last = 1;
  for (;;) {
    static char line[1 << 16];
    assert_non_null(fgets(line, sizeof line, f));
    o = cJSON_Parse(line);
    assert_non_null(o);
    if (cJSON_GetObjectItem(o, "ok")) {
      assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "end")));
      assert_true(gn(o, "last") >= (double)last);
      last = (uint64_t)gn(o, "last");
      cJSON_Delete(o);
      break;
    }
    assert_true(gn(o, "seq") > (double)last);
    last = (uint64_t)gn(o, "seq");
    cJSON_Delete(o);
  }
  /* since the last one: nothing but the end */
  char req[128];
  snprintf(req, sizeof req, "{\"cmd\":\"events\",\"since\":%llu}",
           (unsigned long long)last);
  o = ask(f, req);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "end")));
  cJSON_Delete(o);

  /* a follower sees a reload that fails (the profile became bad) */
  FILE *g = ctl_connect();
  /* "since" rather than "new": the daemon may read this connection after
   * the reload request on the other one */
  fprintf(g, "{\"cmd\":\"events\",\"follow\":true,\"since\":%llu}\n",
          (unsigned long long)last);
  fflush(g);
  FILE *pf = fopen(prof_path, "w");
  fputs("<flat-profile><Register_Expires_1_>1</Register_Expires_1_>"
        "</flat-profile>\n",
        pf);
  fclose(pf);
  o = ask(f, "{\"cmd\":\"reload\"}");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "ok")));
  assert_non_null(strstr(gs(o, "error"), "Register_Expires_1_"));
  cJSON_Delete(o);
  static char line[1 << 16];
  assert_non_null(fgets(line, sizeof line, g));
  o = cJSON_Parse(line);
  assert_string_equal(gs(o, "event"), "reload");
  assert_string_equal(gs(o, "result"), "failed");
  cJSON_Delete(o);
  /* and the daemon still runs the old profile */
  o = ask(f, "{\"cmd\":\"status\"}");
  assert_string_equal(gs(o, "state"), "running");
  cJSON_Delete(o);
  fclose(g);

  /* stop: replies ok, then the daemon exits 0 */
  o = ask(f, "{\"cmd\":\"stop\"}");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
  cJSON_Delete(o);
  fclose(f);
  int st;
  assert_int_equal(waitpid(daemon_pid, &st, 0), daemon_pid);
  daemon_pid = 0;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_int_not_equal(access(sock_path, F_OK), 0); /* socket removed */
}

/*
 * The ring prints events with its own printer (ctljson.c sj_print, for
 * speed); its line is byte for byte what cJSON_PrintUnformatted prints,
 * for every kind of value and every character that needs escaping.
 */
static void test_ring_printer(void **state) {
  (void)state;
  sj_ring *r = sj_ring_new(4);
  cJSON *o = sj_event_new("x", 1234567, 7, &ck);
  char ctl[40];
  for (int i = 0; i < 32; i++)
    ctl[i] = (char)(i + 1);
  ctl[31] = '\0';
  cJSON_AddStringToObject(o, "ctl", ctl);
  cJSON_AddStringToObject(o, "q", "a\"b\\c/d \xc3\xa9 \x7f");
  cJSON_AddStringToObject(o, "empty", "");
  cJSON_AddNumberToObject(o, "neg", -42);
  cJSON_AddNumberToObject(o, "zero", 0);
  cJSON_AddNumberToObject(o, "big", 2147483647.0);
  cJSON_AddNumberToObject(o, "frac", 0.1);
  cJSON_AddNumberToObject(o, "third", 1.0 / 3.0);
  cJSON_AddNumberToObject(o, "half", -2.5);
  cJSON_AddBoolToObject(o, "t", 1);
  cJSON_AddBoolToObject(o, "f", 0);
  cJSON_AddNullToObject(o, "n");
  cJSON *a = cJSON_AddArrayToObject(o, "arr");
  cJSON_AddItemToArray(a, cJSON_CreateNumber(3));
  cJSON_AddItemToArray(a, cJSON_CreateString("s"));
  cJSON_AddItemToArray(a, cJSON_CreateObject());
  cJSON_AddItemToArray(a, cJSON_CreateArray());
  cJSON_AddItemToObject(o, "empty_obj", cJSON_CreateObject());
  /* what cJSON prints once seq is set (sj_ring_push sets it to 1) */
  cJSON_SetNumberValue(cJSON_GetObjectItem(o, "seq"), 1);
  char *want = cJSON_PrintUnformatted(o);
  assert_non_null(want);
  const sj_entry *e = sj_ring_push(r, o, 0);
  assert_non_null(e);
  assert_string_equal(e->json, want);
  cJSON_free(want);
  sj_ring_del(r);
}

/*
 * sj_ring_push_text: the text printed straight from an event (no cJSON
 * tree) is stored with "seq":0 replaced by the event's number, the rest
 * byte for byte; the line parses to the fields sj_event gives; text that
 * does not lead with "seq":0 is refused.
 */
static void test_ring_push_text(void **state) {
  (void)state;
  sj_ring *r = sj_ring_new(4);
  sipline_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = SIPLINE_EV_CALL;
  ev.t = 1234;
  ev.line = 1;
  ev.id = 12;
  ev.status = 180;
  ev.retry_in = SIPLINE_TSTAMP_NONE;
  strcpy(ev.state, "ringing");
  strcpy(ev.text, "sip:a\"b\\c\x01@example.test");
  for (int i = 1; i <= 11; i++) {
    size_t len = 0;
    const char *t = sj_event_text(&ev, &ck, &len);
    assert_non_null(t);
    assert_int_equal(len, strlen(t));
    char *copy = strdup(t);
    const sj_entry *e = sj_ring_push_text(r, t, len, 0);
    assert_non_null(e);
    assert_int_equal(e->seq, (uint64_t)i);
    char want[1024];
    snprintf(want, sizeof want, "{\"seq\":%d%s", i, copy + strlen("{\"seq\":0"));
    assert_string_equal(e->json, want);
    cJSON *o = cJSON_Parse(e->json);
    assert_non_null(o);
    assert_true(gn(o, "seq") == i);
    assert_string_equal(gs(o, "target"), "sip:a\"b\\c\x01@example.test");
    assert_string_equal(gs(o, "state"), "ringing");
    assert_true(gn(o, "status") == 180);
    assert_true(gn(o, "t") == 1.234);
    cJSON_Delete(o);
    free(copy);
  }
  assert_null(sj_ring_push_text(r, "{\"x\":1}", 7, 0));
  assert_int_equal(sj_ring_next_seq(r), 12);
  sj_ring_del(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_iso),
      cmocka_unit_test(test_event_fields),
      cmocka_unit_test(test_message_event),
      cmocka_unit_test(test_line_status),
      cmocka_unit_test(test_ring),
      cmocka_unit_test(test_ring_arena),
      cmocka_unit_test(test_ring_printer),
      cmocka_unit_test(test_ring_push_text),
      cmocka_unit_test(test_xml_root),
      cmocka_unit_test_setup_teardown(test_protocol, start_daemon, stop_daemon),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
