/*
 * daemon/daemon.c: siplined's thin loop around the UA: drives it (tx,
 * events, deadline), turns its events into control-stream events and side
 * effects (DNS, fetches, dialing, commands), and handles stop and reload.
 */
#include <errno.h>
#if defined(__linux__)
#include <malloc.h>
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "log.h"
#include "sd.h"
#include "sipline/event.h"

sipline_tstamp sd_now(sd *d) {
  return (sipline_tstamp)((uv_hrtime() - d->mono0) / 1000000u);
}

/* "line=1 server=10.0.0.1:5060 expires=60" from an event object. */
static void ev_text(const cJSON *o, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (const cJSON *it = o->child; it && n + 1 < cap; it = it->next) {
    const char *k = it->string;
    if (!k || !strcmp(k, "seq") || !strcmp(k, "time") || !strcmp(k, "t") ||
        !strcmp(k, "event"))
      continue;
    char v[320];
    if (cJSON_IsString(it))
      snprintf(v, sizeof v, "%s", it->valuestring);
    else if (cJSON_IsBool(it))
      snprintf(v, sizeof v, "%s", cJSON_IsTrue(it) ? "true" : "false");
    else if (cJSON_IsNull(it))
      snprintf(v, sizeof v, "-");
    else if (cJSON_IsNumber(it))
      snprintf(v, sizeof v, "%g", it->valuedouble);
    else if (cJSON_IsRaw(it))
      snprintf(v, sizeof v, "%s", it->valuestring);
    else if (cJSON_IsArray(it)) {
      size_t vn = 0;
      v[vn++] = '[';
      for (const cJSON *x = it->child; x && vn + 2 < sizeof v; x = x->next) {
        int w =
            snprintf(v + vn, sizeof v - vn, "%s%s", x == it->child ? "" : ",",
                     cJSON_IsString(x) ? x->valuestring : "?");
        if (w < 0)
          break;
        vn += (size_t)w;
        if (vn >= sizeof v - 2)
          vn = sizeof v - 2;
      }
      v[vn++] = ']';
      v[vn] = '\0';
    } else
      continue;
    int w = snprintf(out + n, cap - n, "%s%s=%s", n ? " " : "", k, v);
    if (w < 0)
      break;
    n += (size_t)w;
    if (n >= cap)
      n = cap - 1;
  }
}

static void push(sd *d, cJSON *ev, int message, int level) {
  if (!ev)
    return;
  if (slog_enabled(level)) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(ev, "event");
    char txt[1024];
    ev_text(ev, txt, sizeof txt);
    slog(level, "%s %s", cJSON_IsString(name) ? name->valuestring : "?", txt);
  }
  const sj_entry *e = sj_ring_push(d->ring, ev, message);
  if (e)
    ctl_broadcast(d, e);
}

/* push() for text from sj_event_text/sj_message_text: the line goes to the
 * ring as it is; a cJSON tree is made only when the log wants the line. */
static void push_text(sd *d, const char *text, size_t len, int message,
                      int level) {
  if (!text)
    return;
  if (slog_enabled(level)) {
    cJSON *ev = cJSON_Parse(text);
    if (ev) {
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(ev, "event");
      char txt[1024];
      ev_text(ev, txt, sizeof txt);
      slog(level, "%s %s", cJSON_IsString(name) ? name->valuestring : "?",
           txt);
      cJSON_Delete(ev);
    }
  }
  const sj_entry *e = sj_ring_push_text(d->ring, text, len, message);
  if (e)
    ctl_broadcast(d, e);
}

void sd_emit(sd *d, cJSON *ev) {
  push(d, ev, 0, SLOG_INFO);
}

void sd_push_message(sd *d, cJSON *ev) {
  push(d, ev, 1, SLOG_DEBUG);
}

void sd_wire(sd *d, int tx, int proto, const sipline_path *path,
             const sipline_addr *src, const sipline_addr *dst, const uint8_t *p,
             size_t n) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  if (d->pcap && src->family && src->family == dst->family &&
      spcap_write(d->pcap, proto, src, dst, p, n, &tv) != 0) {
    slog(SLOG_ERROR, "--trace: write failed; tracing stopped");
    spcap_close(d->pcap);
    d->pcap = NULL;
  }
  if (d->hep_open && src->family && src->family == dst->family) {
    static uint8_t hb[65535];
    size_t hn =
        shep_encode(hb, sizeof hb, proto, src, dst, p, n, &tv, d->o.hep_id);
    if (hn) {
      uv_buf_t b = uv_buf_init((char *)hb, (unsigned)hn);
      uv_udp_try_send(&d->hep, &b, 1, (struct sockaddr *)&d->hep_addr);
    }
  }
  if (slog_enabled(SLOG_DEBUG)) {
    char *txt = malloc(n + 1);
    if (txt) {
      slog_redact((const char *)p, n, txt, n + 1);
      char a[80];
      sj_addr(tx ? dst : src, a, sizeof a);
      slog(SLOG_DEBUG, "%s %s %s (%zu bytes):\n%s", tx ? "sent to" : "from",
           sipline_transport_name(path->tp), a, n, txt);
      free(txt);
    }
  }
  size_t len = 0;
  const char *text = sj_message_text(tx, path, p, n, sd_now(d), &d->ck, &len);
  push_text(d, text, len, 1, SLOG_DEBUG);
}

/* ---- commands from the profile (Resync_Command, Reboot_Command) ---- */

typedef struct cmdrun {
  uv_process_t h;
  sd *d;
  unsigned line;
  char package[32];
} cmdrun;

static void cmd_closed(uv_handle_t *h) {
  free(h->data);
}

static void cmd_exit(uv_process_t *h, int64_t status, int sig) {
  cmdrun *r = h->data;
  cJSON *ev = sj_event_new("command", sd_now(r->d), r->line, &r->d->ck);
  cJSON_AddStringToObject(ev, "package", r->package);
  cJSON_AddNumberToObject(ev, "exit_status", (double)status);
  if (sig)
    cJSON_AddNumberToObject(ev, "signal", sig);
  sd_emit(r->d, ev);
  uv_close((uv_handle_t *)h, cmd_closed);
}

static void run_command(sd *d, unsigned line, const char *package,
                        const char *cmd) {
  cJSON *ev = sj_event_new("command", sd_now(d), line, &d->ck);
  cJSON_AddStringToObject(ev, "package", package);
  if (!cmd || !*cmd) {
    cJSON_AddStringToObject(ev, "result", "not configured");
    sd_emit(d, ev);
    return;
  }
  cmdrun *r = calloc(1, sizeof *r);
  if (!r) {
    cJSON_Delete(ev);
    return;
  }
  r->d = d;
  r->line = line;
  snprintf(r->package, sizeof r->package, "%s", package);
  char lbuf[16];
  snprintf(lbuf, sizeof lbuf, "%u", line);
  setenv("SIPLINE_LINE", lbuf, 1);
  setenv("SIPLINE_EVENT", package, 1);
  char *args[] = {"sh", "-c", (char *)cmd, NULL};
  uv_stdio_container_t io[3] = {{.flags = UV_IGNORE},
                                {.flags = UV_INHERIT_FD, .data.fd = 2},
                                {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t po = {0};
  po.file = "/bin/sh";
  po.args = args;
  po.exit_cb = cmd_exit;
  po.stdio = io;
  po.stdio_count = 3;
  r->h.data = r;
  int rc = uv_spawn(d->loop, &r->h, &po);
  if (rc) {
    cJSON_AddStringToObject(ev, "result", uv_strerror(rc));
    free(r);
  } else {
    cJSON_AddStringToObject(ev, "result", "started");
    cJSON_AddNumberToObject(ev, "pid", r->h.pid);
  }
  sd_emit(d, ev);
}

/* ---- UA events ---------------------------------------------------------- */

static void on_execute(sd *d, const sipline_event *ev) {
  if (strcmp(ev->state, "now") != 0 && strcmp(ev->state, "run") != 0)
    return; /* "queued" and "dropped" are only reported */
  const char *u = ev->text;
  if (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) {
    fetch_start(d, ev->line, u);
    return;
  }
  if (strncasecmp(u, "Dial:", 5) == 0 && u[5]) {
    unsigned id = 0;
    int rc =
        sd_call_place(d, ev->line ? ev->line : 1, u + 5, NULL, NULL, &id);
    cJSON *o = sj_event_new("dial", sd_now(d), ev->line, &d->ck);
    cJSON_AddStringToObject(o, "target", u + 5);
    if (rc == 0)
      cJSON_AddNumberToObject(o, "id", id);
    else
      cJSON_AddStringToObject(o, "error", sipline_strerror(rc));
    sd_emit(d, o);
  }
  /* EditDial:, Key:, Init:, Play: have nothing to run on a daemon; the
   * execute event on the stream is their report. */
}

static void on_notify(sd *d, const sipline_event *ev) {
  if (ev->status < 200 || ev->status > 299)
    return;
  const char *pkg = ev->text;
  if (!strcasecmp(pkg, "resync") || !strcasecmp(pkg, "check-sync"))
    run_command(d, ev->line, pkg, d->profile->resync_command);
  else if (!strcasecmp(pkg, "reboot") || !strcasecmp(pkg, "restart"))
    run_command(d, ev->line, pkg, d->profile->reboot_command);
}

static void on_event(sd *d, const sipline_event *ev) {
  int level = SLOG_INFO;
  if (ev->type == SIPLINE_EV_DNS_QUERY || ev->type == SIPLINE_EV_KEEPALIVE)
    level = SLOG_DEBUG;
  else if (ev->type == SIPLINE_EV_WARNING || ev->type == SIPLINE_EV_AUTH_FAILED)
    level = SLOG_WARN;
  size_t len = 0;
  const char *text = sj_event_text(ev, &d->ck, &len); /* sets len first */
  push_text(d, text, len, 0, level);
  switch (ev->type) {
  case SIPLINE_EV_DNS_QUERY:
    dns_query(d, ev->id, ev->qtype, ev->text);
    break;
  case SIPLINE_EV_EXECUTE:
    on_execute(d, ev);
    break;
  case SIPLINE_EV_NOTIFY:
    on_notify(d, ev);
    break;
  case SIPLINE_EV_CALL:
  case SIPLINE_EV_CALL_SDP:
    sd_calls_on_event(d, ev);
    break;
  default:
    break;
  }
}

/* ---- driving ------------------------------------------------------------ */

static void finish(sd *d) {
  uv_timer_stop(&d->stop_timer);
  uv_stop(d->loop);
}

static void switch_ua(sd *d);

static void ua_timer_cb(uv_timer_t *t) {
  sd *d = t->data;
  if (!d->ua)
    return;
  sipline_ua_handle_timeout(d->ua, sd_now(d));
  sd_calls_run(d, sd_now(d));
  sd_drive(d);
}

void sd_drive(sd *d) {
  if (d->driving) {
    d->drive_again = 1;
    return;
  }
  d->driving = 1;
  do {
    d->drive_again = 0;
    if (!d->ua)
      break;
    sipline_path path;
    const uint8_t *p;
    ptrdiff_t n;
    while ((n = sipline_ua_pull_tx(d->ua, &path, &p, sd_now(d))) >= 0)
      if (n > 0)
        net_send(d, &path, p, (size_t)n);
    if (n != SIPLINE_ERR_AGAIN)
      slog(SLOG_WARN, "pull_tx: %s", sipline_strerror((int)n));
    /* An event handler may call into the core (answer an offer, dial):
     * what that queued is pulled on the next pass, not at the next wake-up
     * (an UPDATE's 200 waited for the peer's retransmission). */
    sipline_event ev;
    while (d->ua && sipline_ua_poll_event(d->ua, &ev) == 1) {
      on_event(d, &ev);
      d->drive_again = 1;
    }
  } while (d->drive_again);
  d->driving = 0;
  if (d->ua && (d->stopping || d->reloading) &&
      sipline_ua_is_shut_down(d->ua)) {
    if (d->stopping) {
      slog(SLOG_INFO, "every line un-registered; exiting");
      finish(d);
      return;
    }
    switch_ua(d);
    return;
  }
  if (!d->ua) {
    uv_timer_stop(&d->ua_timer);
    return;
  }
  sipline_tstamp dl = sipline_ua_next_deadline(d->ua);
  sipline_tstamp ca = sd_calls_next(d);
  if (ca < dl)
    dl = ca;
  if (dl == SIPLINE_TSTAMP_NONE) {
    uv_timer_stop(&d->ua_timer);
    return;
  }
  uv_update_time(d->loop);
  sipline_tstamp now = sd_now(d);
  uv_timer_start(&d->ua_timer, ua_timer_cb, dl > now ? dl - now : 0, 0);
}

/* ---- profile, start, stop, reload --------------------------------------- */

int sd_load_profile(const char *path, sipline_profile **out, char *err,
                    size_t cap, unsigned char sha[32]) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, cap, "%s: %s", path, strerror(errno));
    return -1;
  }
  /* The buffer is sized by the file (a 10,000-line profile is ~2 MB, the
   * limit 64 MiB): one byte more than the limit is read so that the parser
   * refuses a larger file with its own message (a file that grows while
   * read is cut there and refused the same way). */
  struct stat st;
  size_t max = SIPLINE_PROFILE_MAX_SIZE + (size_t)1, n = 0;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
    if ((uint64_t)st.st_size >= max) {
      fclose(f);
      snprintf(err, cap, "%s: %llu bytes, more than the %u a profile may have",
               path, (unsigned long long)st.st_size, SIPLINE_PROFILE_MAX_SIZE);
      return -1;
    }
    max = (size_t)st.st_size + 1;
  }
  char *buf = malloc(max);
  if (!buf) {
    fclose(f);
    snprintf(err, cap, "%s: out of memory", path);
    return -1;
  }
  n = fread(buf, 1, max, f);
  int rerr = ferror(f);
  fclose(f);
  if (rerr) {
    free(buf);
    snprintf(err, cap, "%s: read error", path);
    return -1;
  }
  if (sha)
    SHA256((const unsigned char *)buf, n, sha);
  sipline_profile_error pe;
  memset(&pe, 0, sizeof pe);
  int rc = sipline_profile_parse(out, buf, n, NULL, &pe);
  free(buf);
  if (rc == 0) {
    /* Paths the daemon will open during calls: refused now, at load (and
     * at reload, which keeps the running profile), not at the first call. */
    char why[512];
    if (sd_calls_check_profile(*out, why, sizeof why) == 0)
      return 0;
    snprintf(err, cap, "%s: %s", path, why);
    sipline_profile_del(*out);
    *out = NULL;
    return -1;
  }
  /* One line naming the file line, the tag and the value; never the value
   * of a password (the sentence from the library names only the tag then). */
  int secret = strncasecmp(pe.tag, "Password", 8) == 0;
  if (pe.tag[0] && !secret && !strstr(pe.what, pe.tag))
    snprintf(err, cap, "%s:%u: %s: \"%s\": %s", path, pe.file_line, pe.tag,
             pe.value, pe.what[0] ? pe.what : sipline_strerror(rc));
  else if (pe.tag[0] && secret)
    snprintf(err, cap, "%s:%u: %s: %s", path, pe.file_line, pe.tag,
             sipline_strerror(rc));
  else
    snprintf(err, cap, "%s:%u: %s", path, pe.file_line,
             pe.what[0] ? pe.what : sipline_strerror(rc));
  *out = NULL;
  return -1;
}

int sd_apply_overrides(sd *d, sipline_profile *p, char *err, size_t cap) {
  if (!d->o.port_base)
    return 0;
  for (unsigned n = 1; n <= p->n_lines; n++) {
    char tag[32], val[16];
    unsigned port = d->o.port_base + n - 1;
    if (port > 65535) {
      snprintf(err, cap, "--port-base %u: line %u would need port %u",
               d->o.port_base, n, port);
      return -1;
    }
    snprintf(tag, sizeof tag, "SIP_Port_%u_", n);
    snprintf(val, sizeof val, "%u", port);
    sipline_profile_error pe;
    if (sipline_profile_set(p, tag, val, &pe) != 0) {
      snprintf(err, cap, "--port-base: %s", pe.what);
      return -1;
    }
  }
  return 0;
}

static void report_extras(const sipline_profile *p, const char *path) {
  for (unsigned i = 0; i < p->n_extra; i++)
    slog(SLOG_WARN, "%s:%u: unknown tag %s (kept, not used)", path,
         p->extra[i].file_line, p->extra[i].tag);
}

int sd_start_ua(sd *d) {
  uint64_t seed = 0;
  if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1) {
    slog(SLOG_ERROR, "OpenSSL RAND_bytes failed");
    return -1;
  }
  sipline_settings st;
  memset(&st, 0, sizeof st);
  st.profile = d->profile;
  st.seed = seed;
  st.local_host = d->o.advertise ? d->o.advertise : d->o.bind[0];
  if (d->o.instance_id) {
    st.instance_id = d->o.instance_id;
  } else {
    /* one UUID (RFC 4122 v4) per process, so a reload keeps the instance
     * and the registrar sees the same device */
    if (!d->instance[0]) {
      uint8_t u[16];
      if (RAND_bytes(u, sizeof u) != 1)
        memcpy(u, &seed, sizeof seed), memcpy(u + 8, &seed, sizeof seed);
      u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
      u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
      snprintf(d->instance, sizeof d->instance,
               "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
               "%02x%02x%02x%02x%02x%02x",
               u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
               u[10], u[11], u[12], u[13], u[14], u[15]);
    }
    st.instance_id = d->instance;
  }
  int rc = sipline_ua_new(&d->ua, &st, sd_slab_mem(d->slab), d);
  if (rc) {
    slog(SLOG_ERROR, "cannot create the UA: %s", sipline_strerror(rc));
    d->ua = NULL;
    return -1;
  }
  /* the UA holds its own copy now: use that one, free ours */
  d->profile = sipline_ua_profile(d->ua);
  sipline_profile_del(d->loaded);
  d->loaded = NULL;
  d->ua_gen++;
  /* The NOTIFY digest server's nonce secret: from OpenSSL, never from the
   * seed (a seed is for reproducible simulations, not a secret). */
  uint8_t secret[32];
  if (RAND_bytes(secret, sizeof secret) == 1) {
    rc = sipline_ua_set_notify_secret(d->ua, secret, sizeof secret);
    if (rc && rc != SIPLINE_ERR_NOTFOUND)
      slog(SLOG_WARN, "NOTIFY secret: %s", sipline_strerror(rc));
  } else {
    slog(SLOG_WARN, "RAND_bytes failed: the NOTIFY secret comes from the "
                    "seed");
  }
  OPENSSL_cleanse(secret, sizeof secret);
  if (d->o.ch_rate || d->o.ch_global_rate) {
    /* --challenge-limit(-global): a server that pushes many NOTIFYs, each
     * after its own 401, needs more than the core's anti-reflection
     * defaults; 0 in a field keeps the default */
    sipline_notify_limits lim = {.rate = d->o.ch_rate,
                                 .burst = d->o.ch_burst,
                                 .global_rate = d->o.ch_global_rate,
                                 .global_burst = d->o.ch_global_burst};
    rc = sipline_ua_set_notify_limits(d->ua, &lim);
    if (rc && rc != SIPLINE_ERR_NOTFOUND)
      slog(SLOG_WARN, "challenge limits: %s", sipline_strerror(rc));
  }
  rc = sipline_ua_start(d->ua, sd_now(d));
  if (rc)
    slog(SLOG_WARN, "starting the lines: %s", sipline_strerror(rc));
  sd_drive(d);
  return 0;
}

static void stop_timer_cb(uv_timer_t *t) {
  sd *d = t->data;
  if (d->stopping) {
    slog(SLOG_WARN, "shutdown deadline reached before every un-REGISTER "
                    "was answered; exiting");
    finish(d);
  } else if (d->reloading) {
    slog(SLOG_WARN, "reload: the old UA did not finish in time; switching");
    switch_ua(d);
  }
}

void sd_stop(sd *d, const char *why) {
  if (d->stopping) {
    slog(SLOG_WARN, "%s again: exiting at once", why);
    if (d->pcap)
      spcap_close(d->pcap);
    if (d->ctl_open)
      unlink(d->o.control);
    if (d->o.pid_file)
      unlink(d->o.pid_file);
    _exit(1);
  }
  d->stopping = 1;
  slog(SLOG_INFO, "%s: un-registering every line", why);
  sd_emit(d, sj_event_new("stopping", sd_now(d), 0, &d->ck));
  if (!d->ua) {
    finish(d);
    return;
  }
  uv_timer_start(&d->stop_timer, stop_timer_cb, d->o.shutdown_ms, 0);
  if (!d->reloading)
    sipline_ua_shutdown(d->ua, sd_now(d));
  sd_drive(d);
}

/* The old UA is gone (or out of time): start the new profile's UA. */
static void switch_ua(sd *d) {
  uv_timer_stop(&d->stop_timer);
  d->reloading = 0;
  sipline_ua_del(d->ua); /* and with it the running profile */
  d->ua = NULL;
  sipline_profile_del(d->loaded); /* when no UA had taken it */
  d->loaded = d->next;
  d->profile = d->loaded;
  d->next = NULL;
  net_close(d, 1);
  d->ua_gen++; /* answers for the old UA are dropped */
  cJSON *ev = sj_event_new("reload", sd_now(d), 0, &d->ck);
  cJSON_AddStringToObject(ev, "result", "ok");
  cJSON_AddNumberToObject(ev, "lines", d->profile->n_lines);
  sd_emit(d, ev);
  if (net_open(d) != 0 || sd_start_ua(d) != 0) {
    slog(SLOG_ERROR, "reload: cannot start the new profile; exiting");
    d->exit_code = 1;
    finish(d);
  }
}

int sd_reload(sd *d, char *err, size_t cap) {
  if (d->stopping) {
    snprintf(err, cap, "stopping");
    return -1;
  }
  sipline_profile *p = NULL;
  unsigned char sha[32];
  if (sd_load_profile(d->o.config, &p, err, cap, sha) != 0 ||
      sd_apply_overrides(d, p, err, cap) != 0) {
    sipline_profile_del(p);
    slog(SLOG_ERROR, "reload failed, keeping the running profile: %s", err);
    cJSON *ev = sj_event_new("reload", sd_now(d), 0, &d->ck);
    cJSON_AddStringToObject(ev, "result", "failed");
    cJSON_AddStringToObject(ev, "error", err);
    push(d, ev, 0, SLOG_DEBUG);
    return -1;
  }
  if (memcmp(sha, d->profile_sha, sizeof sha) == 0 && !d->reloading) {
    /* the same bytes: nothing to re-register for */
    sipline_profile_del(p);
    slog(SLOG_INFO, "reload: %s has not changed; nothing to do", d->o.config);
    cJSON *ev = sj_event_new("reload", sd_now(d), 0, &d->ck);
    cJSON_AddStringToObject(ev, "result", "unchanged");
    sd_emit(d, ev);
    return 0;
  }
  memcpy(d->profile_sha, sha, sizeof sha);
  report_extras(p, d->o.config);
  slog(SLOG_INFO, "reload: %s parsed; un-registering the old lines",
       d->o.config);
  if (d->reloading) { /* a second reload while the first is shutting down */
    sipline_profile_del(d->next);
    d->next = p;
    return 0;
  }
  d->next = p;
  d->reloading = 1;
  if (!d->ua) {
    switch_ua(d);
    return 0;
  }
  uv_timer_start(&d->stop_timer, stop_timer_cb, d->o.shutdown_ms, 0);
  sipline_ua_shutdown(d->ua, sd_now(d));
  sd_drive(d);
  return 0;
}

/* ---- control requests ------------------------------------------------- */

static cJSON *reply(int ok, const char *cmd) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "ok", ok);
  if (cmd)
    cJSON_AddStringToObject(o, "cmd", cmd);
  return o;
}

static void fail(sd_ctlc *c, const char *cmd, const char *why) {
  cJSON *o = reply(0, cmd);
  cJSON_AddStringToObject(o, "error", why);
  ctl_reply_obj(c, o);
}

/* ---- heap ---------------------------------------------------------------- */

void sd_heap_usage(size_t *in_use, size_t *free_held) {
  *in_use = *free_held = 0;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 mi = mallinfo2();
  *in_use = mi.uordblks + mi.hblkhd;
  *free_held = mi.fordblks;
#endif
}

/*
 * Every SD_TRIM_EVERY_MS (main.c's timer): when the free memory malloc holds
 * has grown by TRIM_MIN since its lowest level after the last trim, and is
 * more than a quarter of what is in use, malloc_trim(0) gives the free
 * pages back (glibc returns pages inside the heap with MADV_DONTNEED, not
 * only its top).
 * Why: a NOTIFY flood keeps each answered server transaction for Timer J
 * (16 s), so the heap grows to rate x Timer J x ~1 KiB; when they go, the
 * heap is free but fragmented by blocks that outlived them (bench/notify:
 * 123 MB in use at the end of the load, 6 MB 20 s later, yet RSS stayed at
 * 194 MB with 181 MB free in malloc). A fleet's burst does the same to a
 * heap that stays mostly in use: 10,000 lines registered held 43 MB in use
 * and 41 MB free, never trimmed while the rule was "more free than in use"
 * (bench/fleet). mallinfo2 still counts trimmed chunks as free, hence the
 * growth test rather than the level: one trim per burst, not one per
 * period. Cost: a few ms per trim.
 */
#define TRIM_MIN ((size_t)8 << 20)

void sd_heap_trim(sd *d) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  size_t used, held;
  sd_heap_usage(&used, &held);
  if (held < d->heap_low)
    d->heap_low = held;
  if (held > TRIM_MIN && held > used / 4 && held - d->heap_low > TRIM_MIN) {
    malloc_trim(0);
    d->heap_trims++;
    sd_heap_usage(&used, &held);
    d->heap_low = held;
  }
#else
  (void)d;
#endif
  /* after a burst, the spans of its transactions are empty: their pages go
   * back at once (a few ms for ~4,000 spans, bench/fleet), whatever
   * malloc holds */
  sd_slab_trim(d->slab, SD_SLAB_KEEP);
}

sd_slab *sd_slab_open(void) {
#ifdef SD_SLAB_ASAN
  return NULL;
#else
  /* Address space only (slab.c), none of it memory until used: 4 GiB
   * holds the blocks of about a million lines (bench/fleet: 2.3 KB per
   * line at rest, ~6 KB at the height of a burst); less where RLIMIT_AS
   * or the kernel refuses that much. */
  static const size_t tries[] = {(size_t)4 << 30, (size_t)1 << 30,
                                 (size_t)64 << 20};
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
    if (sizeof(size_t) < 8 && tries[i] > ((size_t)1 << 30))
      continue;
    sd_slab *s = sd_slab_new(tries[i]);
    if (s)
      return s;
  }
  return NULL;
#endif
}

static void status(sd *d, sd_ctlc *c) {
  cJSON *o = reply(1, "status");
  sipline_tstamp now = sd_now(d);
  char iso[40];
  sj_iso(d->ck.wall0_ms + (int64_t)now, iso, sizeof iso);
  cJSON_AddStringToObject(o, "time", iso);
  cJSON_AddStringToObject(o, "version", SIPLINE_VERSION);
  cJSON_AddNumberToObject(o, "pid", (double)getpid());
  sj_iso(d->ck.wall0_ms, iso, sizeof iso);
  cJSON_AddStringToObject(o, "started", iso);
  cJSON_AddNumberToObject(o, "uptime", (double)now / 1000.0);
  cJSON_AddStringToObject(o, "profile", d->o.config);
  cJSON_AddStringToObject(o, "state",
                          d->stopping    ? "stopping"
                          : d->reloading ? "reloading"
                                         : "running");
  cJSON_AddNumberToObject(o, "last_seq",
                          (double)(sj_ring_next_seq(d->ring) - 1));
  /* events the core dropped because its queue was full (max_events) */
  cJSON_AddNumberToObject(o, "events_dropped",
                          d->ua ? (double)sipline_ua_events_dropped(d->ua)
                                : 0.0);
  {
    /* the C library's heap: what is live, what malloc holds free, and
     * how often the trim timer gave free memory back (main.c) */
    size_t used, held;
    sd_heap_usage(&used, &held);
    cJSON *h = cJSON_AddObjectToObject(o, "heap");
    cJSON_AddNumberToObject(h, "in_use", (double)used);
    cJSON_AddNumberToObject(h, "free", (double)held);
    cJSON_AddNumberToObject(h, "trims", (double)d->heap_trims);
    if (d->slab) {
      /* the core's blocks (slab.c): live bytes, spans in use, empty spans
       * still resident, spans given back so far */
      sd_slab_stats ss;
      sd_slab_stats_get(d->slab, &ss);
      cJSON *cj = cJSON_AddObjectToObject(h, "core");
      cJSON_AddNumberToObject(cj, "in_use", (double)ss.in_use);
      cJSON_AddNumberToObject(cj, "spans", (double)ss.spans);
      cJSON_AddNumberToObject(cj, "span_bytes", (double)SD_SLAB_SPAN);
      cJSON_AddNumberToObject(cj, "empty_resident", (double)ss.empty_dirty);
      cJSON_AddNumberToObject(cj, "released", (double)ss.released);
      cJSON_AddNumberToObject(cj, "fallback", (double)ss.fallback);
    }
  }
  if (d->pace) {
    /* --max-pending: requests that waited, copies dropped while queued */
    uint64_t delayed, deduped;
    size_t queued, maxq;
    pace_stats(d, &delayed, &deduped, &queued, &maxq);
    cJSON *pj = cJSON_AddObjectToObject(o, "pending_window");
    cJSON_AddNumberToObject(pj, "max_pending", d->o.max_pending);
    cJSON_AddNumberToObject(pj, "delayed", (double)delayed);
    cJSON_AddNumberToObject(pj, "deduped", (double)deduped);
    cJSON_AddNumberToObject(pj, "queued", (double)queued);
    cJSON_AddNumberToObject(pj, "max_queued", (double)maxq);
  }
  cJSON *lines = cJSON_AddArrayToObject(o, "lines");
  unsigned n = d->ua ? sipline_ua_line_count(d->ua) : 0;
  for (unsigned i = 1; i <= n; i++) {
    sipline_line_status st;
    memset(&st, 0, sizeof st);
    if (sipline_ua_line_status(d->ua, i, &st) != 0)
      continue;
    cJSON_AddItemToArray(lines, sj_line_status(&st, &d->ck, now));
  }
  cJSON *calls = cJSON_AddArrayToObject(o, "calls");
  for (unsigned i = 0; d->ua && i < d->n_calls; i++) {
    cJSON *cj = sd_call_status(d, &d->calls[i]);
    if (cj)
      cJSON_AddItemToArray(calls, cj);
  }
  ctl_reply_obj(c, o);
}

static int get_uint(const cJSON *req, const char *k, unsigned *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(req, k);
  if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
      it->valuedouble <= 4294967295.0) {
    *v = (unsigned)it->valuedouble;
    return 0;
  }
  if (cJSON_IsString(it) && it->valuestring[0]) {
    char *end;
    unsigned long x = strtoul(it->valuestring, &end, 10);
    if (!*end) {
      *v = (unsigned)x;
      return 0;
    }
  }
  return -1;
}

void sd_ctl_request(sd *d, sd_ctlc *c, cJSON *req) {
  const cJSON *cmdj = cJSON_GetObjectItemCaseSensitive(req, "cmd");
  if (!cJSON_IsString(cmdj)) {
    fail(c, NULL, "missing \"cmd\"");
    return;
  }
  const char *cmd = cmdj->valuestring;
  if (!strcmp(cmd, "status")) {
    status(d, c);
  } else if (!strcmp(cmd, "events")) {
    unsigned since = 0;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(req, "since");
    if (s && get_uint(req, "since", &since) != 0) {
      fail(c, cmd, "\"since\" must be a sequence number");
      return;
    }
    int follow = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "follow"));
    int msgs = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "messages"));
    /* "since":-1 style "only new ones" is spelled "new":true */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "new")))
      since = (unsigned)(sj_ring_next_seq(d->ring) - 1);
    ctl_follow(d, c, since, msgs, follow);
  } else if (!strcmp(cmd, "call")) {
    unsigned line = 1, id = 0;
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(req, "to");
    if (cJSON_GetObjectItemCaseSensitive(req, "line") &&
        get_uint(req, "line", &line) != 0) {
      fail(c, cmd, "\"line\" must be a line number");
      return;
    }
    if (!cJSON_IsString(to) || !to->valuestring[0]) {
      fail(c, cmd, "\"to\" (a user or SIP URI) is required");
      return;
    }
    if (!d->ua || d->stopping || d->reloading) {
      fail(c, cmd, "not running");
      return;
    }
    const cJSON *play = cJSON_GetObjectItemCaseSensitive(req, "play");
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(req, "record");
    int rc = sd_call_place(d, line, to->valuestring,
                           cJSON_IsString(play) ? play->valuestring : NULL,
                           cJSON_IsString(rec) ? rec->valuestring : NULL, &id);
    sd_drive(d);
    if (rc) {
      fail(c, cmd, sipline_strerror(rc));
      return;
    }
    cJSON *o = reply(1, cmd);
    cJSON_AddNumberToObject(o, "id", id);
    ctl_reply_obj(c, o);
  } else if (!strcmp(cmd, "hangup")) {
    unsigned id;
    if (get_uint(req, "id", &id) != 0) {
      fail(c, cmd, "\"id\" (a call id) is required");
      return;
    }
    if (!d->ua) {
      fail(c, cmd, "not running");
      return;
    }
    int rc = sipline_ua_hangup(d->ua, id, sd_now(d));
    sd_drive(d);
    if (rc) {
      fail(c, cmd, sipline_strerror(rc));
      return;
    }
    ctl_reply_obj(c, reply(1, cmd));
  } else if (!strcmp(cmd, "answer") || !strcmp(cmd, "reject") ||
             !strcmp(cmd, "hold") || !strcmp(cmd, "resume") ||
             !strcmp(cmd, "update") || !strcmp(cmd, "reinvite")) {
    unsigned id, code = 0;
    if (get_uint(req, "id", &id) != 0) {
      fail(c, cmd, "\"id\" (a call id) is required");
      return;
    }
    if (cJSON_GetObjectItemCaseSensitive(req, "code") &&
        (get_uint(req, "code", &code) != 0 || code < 300 || code > 699)) {
      fail(c, cmd, "\"code\" must be a final status 300..699");
      return;
    }
    if (!d->ua) {
      fail(c, cmd, "not running");
      return;
    }
    int arg = !strcmp(cmd, "reject")
                  ? (int)code
                  : !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(req, "sdp"));
    const cJSON *play = cJSON_GetObjectItemCaseSensitive(req, "play");
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(req, "record");
    int rc = 0;
    if (cJSON_IsString(play) || cJSON_IsString(rec))
      rc = sd_call_media_files(d, id,
                               cJSON_IsString(play) ? play->valuestring : NULL,
                               cJSON_IsString(rec) ? rec->valuestring : NULL);
    if (!rc)
      rc = sd_call_cmd(d, cmd, id, arg);
    sd_drive(d);
    if (rc) {
      fail(c, cmd, sipline_strerror(rc));
      return;
    }
    ctl_reply_obj(c, reply(1, cmd));
  } else if (!strcmp(cmd, "dtmf")) {
    unsigned id;
    const cJSON *dg = cJSON_GetObjectItemCaseSensitive(req, "digits");
    if (get_uint(req, "id", &id) != 0 || !cJSON_IsString(dg)) {
      fail(c, cmd, "\"id\" and \"digits\" (0-9 * # A-D) are required");
      return;
    }
    int rc = d->ua ? sd_call_dtmf(d, id, dg->valuestring) : SIPLINE_ERR_STATE;
    if (rc) {
      fail(c, cmd, sipline_strerror(rc));
      return;
    }
    ctl_reply_obj(c, reply(1, cmd));
  } else if (!strcmp(cmd, "reload")) {
    char err[512];
    if (sd_reload(d, err, sizeof err) != 0)
      fail(c, cmd, err);
    else
      ctl_reply_obj(c, reply(1, cmd));
  } else if (!strcmp(cmd, "stop")) {
    ctl_reply_obj(c, reply(1, cmd));
    if (!d->stopping)
      sd_stop(d, "stop requested on the control socket");
  } else if (!strcmp(cmd, "version")) {
    cJSON *o = reply(1, cmd);
    cJSON_AddStringToObject(o, "version", SIPLINE_VERSION);
    ctl_reply_obj(c, o);
  } else {
    char why[128];
    snprintf(why, sizeof why, "unknown command \"%.64s\"", cmd);
    fail(c, cmd, why);
  }
}
