/*
 * tools/sipline-sim/sim_internal.h: what the engine's files share.
 *
 * The engine is split by concern, one file each:
 *   sim.c          the virtual clock and the UA side (run loop, drain, DNS
 *                  answers, calls placed by a line)
 *   sim_load.c     scenario JSON -> struct sim (errors name file and key),
 *                  and the lines' credentials
 *   sim_net.c      the simulated network: delivery heap, latency, UDP
 *                  datagrams, TCP/TLS connections, transport errors, and
 *                  the per-address endpoints that stand on it
 *   sim_registrar.c the scripted registrar/proxy endpoint (ok, silent,
 *                  refuse, close, reply:CODE, reject-auth, digest)
 *   sim_print.c    the timeline as JSON lines
 *   sim_check.c    the scenario's "expect" entries against the timeline
 *   sim_svg.c      the timeline as an SVG picture (--svg)
 *   sim_util.c     allocation, string builder, hash
 *
 * Everything the UA talks to is an endpoint: an address with an ops table
 * (sim_endpoint_ops). The network hands each complete message to the
 * endpoint at its destination; the run loop applies each endpoint's scripted
 * changes on time. A new kind of scripted peer (a SIP UA that answers calls)
 * is a new file with its own ops, added by the loader from its own key.
 */
#ifndef SIPLINE_SIM_INTERNAL_H
#define SIPLINE_SIM_INTERNAL_H

#include <cjson/cJSON.h>

#include "sim.h"
#include "sip.h"

/* ---- util ---------------------------------------------------------------- */

/* Allocation that exits (status 3) when memory runs out: a simulator that
   cannot allocate has nothing useful left to say. */
void *sim__xmalloc(size_t n);
void *sim__xcalloc(size_t n, size_t s);
void *sim__xrealloc(void *p, size_t n);
char *sim__xstrdup(const char *s);

typedef struct sb {
  char *p;
  size_t len, cap;
} sb;

void sim__sb_add(sb *b, const char *s, size_t n);
void sim__sb_str(sb *b, const char *s);
void sim__sb_printf(sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reads a whole file into b (NUL-terminated); -1 with errno on failure. */
int sim__sb_read_file(sb *b, const char *path);

uint64_t sim__fnv(const void *p, size_t n, uint64_t h);
#define SIM_FNV0 1469598103934665603ull

/* Writes "FILE: KEY: what" style text into err and returns 2. */
int sim__fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int sim__addr_same(const sipline_addr *a, const sipline_addr *b);

/* ---- endpoints ----------------------------------------------------------- */

typedef struct sim_endpoint sim_endpoint;

/* How a scripted state serves the UA (for the picture, --svg). */
typedef enum sim_ep_state {
  SIM_EP_DOWN = 0, /* no answer: silent, refusing, closed */
  SIM_EP_FAILING,  /* answers, but with errors (reply:503, reject-auth) */
  SIM_EP_UP,       /* serves requests */
} sim_ep_state;

/* One entry of an endpoint's script. */
typedef struct sim_script_entry {
  sipline_tstamp at;
  char label[64]; /* as the scenario wrote it: "ok", "silent", "reply:503" */
  sim_ep_state state;
} sim_script_entry;

typedef struct sim_endpoint_ops {
  const char *kind;
  /* One complete message (or a CRLF keep-alive ping) from the UA over p;
     conn is the stream connection's index, -1 for UDP. */
  void (*rx)(sim *s, sim_endpoint *ep, const sipline_path *p, int conn,
             const char *data, size_t len);
  /* When it next acts on its own: a script change or a timer of its own
     (SIPLINE_TSTAMP_NONE: never). The run loop wakes for it. */
  sipline_tstamp (*next_due)(const sim_endpoint *ep);
  /* Does everything due at s->now, in its own order. To send to the UA it
     calls sim__net_to_ua with a path (and conn) it got in rx. */
  void (*run_due)(sim *s, sim_endpoint *ep);
  /* 1 while a stream connection to it is refused (or reset). */
  int (*refuses_streams)(const sim_endpoint *ep);
  /* The k-th entry of its script; 0, or -1 past the end. */
  int (*script_entry)(const sim_endpoint *ep, size_t k, sim_script_entry *out);
  void (*del)(sim_endpoint *ep);
} sim_endpoint_ops;

struct sim_endpoint {
  char name[96];     /* the scenario's key as written: host:port */
  sipline_addr addr; /* unique among endpoints */
  unsigned idx;      /* its place in scenario order */
  const sim_endpoint_ops *ops;
  void *impl; /* owned; ops->del frees it */
};

/* ---- network ------------------------------------------------------------- */

typedef enum nkind { N_TO_SERVER, N_TO_UA, N_TPERR } nkind;

typedef struct nitem {
  sipline_tstamp t;
  uint64_t seq;
  nkind k;
  int why;
  int conn; /* index into conns, -1 for UDP */
  sipline_path path;
  char *data;
  size_t len;
} nitem;

typedef enum cstate { C_CLOSED = 0, C_CONNECTING, C_OPEN } cstate;

typedef struct conn {
  sipline_path path; /* UA's view: local = UA, remote = server */
  cstate st;
  sb pend;  /* UA->server bytes not yet framed into messages */
  int next; /* hash chain */
} conn;

/* ---- scenario ------------------------------------------------------------ */

/* One name's records from a time on: a name given as a list of sets
 * ({"at": s, "a": [...], "ttl": s}) has one dnsname per set, and a query
 * gets the set of the latest at <= now. */
typedef struct dnsname {
  char *name;
  sipline_dns_rr *rr;
  size_t n;
  sipline_tstamp at;
  uint32_t ttl; /* the records' TTL: UINT32_MAX (never expires) unless
                   "ttl" is given */
  int has_ttl;
} dnsname;

/* What the line does in a call at a time ("script" of a call). */
enum { CA_UPDATE, CA_UPDATE_NOSDP, CA_REINVITE, CA_REINVITE_NOSDP, CA_HOLD };
#define CALL_MAX_ACTS 16

typedef struct call {
  sipline_tstamp at;
  sipline_tstamp hangup_at; /* NONE: never */
  unsigned line;
  char to[128];
  unsigned id;
  int placed, hung;
  sipline_tstamp act_at[CALL_MAX_ACTS];
  int act[CALL_MAX_ACTS];
  unsigned nact, next_act;
} call;

typedef struct cred {
  char *key;
  const char *password; /* NULL: the line is not challenged */
  unsigned line;
  int next;
} cred;

typedef struct sim_svg sim_svg;

struct sim {
  char *path;
  char *dir;
  sim_opts o;
  cJSON *root;
  sipline_profile *profile;
  sipline_ua *ua;

  /* scenario (sim_load.c) */
  sim_endpoint *ep; /* scenario order */
  size_t nep, capep;
  dnsname *dns;
  size_t ndns;
  call *calls;
  size_t ncalls;
  size_t next_call;
  sipline_tstamp until;
  uint64_t seed;
  sipline_tstamp latency;
  const cJSON *expect;
  cred *creds; /* user id and auth id -> line, password */
  size_t ncreds, capcreds;
  int *credb;
  size_t ncredb;

  /* network (sim_net.c) */
  nitem *heap;
  size_t nheap, capheap;
  uint64_t seq;
  conn *conns;
  size_t nconns, capconns;
  int *cbuckets;
  size_t ncbuckets;

  /* clock and output */
  sipline_tstamp now;
  int started;
  sb line;
  char **tl;
  size_t ntl, captl;
  sim_svg *svg; /* the picture's data (o.svg) */
  sim_stats stats;
};

/* ---- sim.c --------------------------------------------------------------- */

double sim__ua_clock(void);

/* Calls into the UA are timed (bench/reg's CPU per REGISTER). */
#define SIM_UA_CALL(s, expr)                                                   \
  do {                                                                         \
    double t0_ = sim__ua_clock();                                               \
    (void)(expr);                                                              \
    (s)->stats.ua_time_s += sim__ua_clock() - t0_;                               \
    (s)->stats.ua_calls++;                                                     \
  } while (0)

/* The network hands the UA a message or a transport error; each is printed,
   given to the core, and the core's output drained. */
void sim__ua_rx(sim *s, const sipline_path *p, const char *data, size_t len);
void sim__ua_tperr(sim *s, const sipline_path *p, int why);

/* ---- sim_load.c ---------------------------------------------------------- */

/* The line a message belongs to, from its From user (0: unknown). */
unsigned sim__line_of(const sim *s, const ssip_msg *m);
/* The password of a user id or auth id; NULL: not challenged or unknown. */
const char *sim__password_for(const sim *s, spl user);

/* ---- sim_net.c ----------------------------------------------------------- */

/* Adds an endpoint (name and address already checked unique); the pointer
   stays valid until the next add. */
sim_endpoint *sim__endpoint_add(sim *s, const char *name, const sipline_addr *a,
                                const sim_endpoint_ops *ops, void *impl);
sim_endpoint *sim__endpoint_by_addr(const sim *s, const sipline_addr *a);
/* The earliest time any endpoint acts on its own (NONE: none will). */
sipline_tstamp sim__endpoints_next_due(const sim *s);
/* Runs what every endpoint has due now, in scenario order. */
void sim__endpoints_run_due(sim *s);

/* The UA sent bytes over p (a datagram, or stream bytes to frame). */
void sim__net_from_ua(sim *s, const sipline_path *p, const uint8_t *data,
                      size_t len);
/* An endpoint answers the UA over p (conn as given to its rx). */
void sim__net_to_ua(sim *s, const sipline_path *p, int conn, const char *data,
                    size_t len);
/* The UA learns of a transport error on p after the network's delay. */
void sim__net_tperr_to_ua(sim *s, const sipline_path *p, int why);
/* Resets every open connection to a; the UA is told they closed. */
void sim__net_close_conns(sim *s, const sipline_addr *a);
/* When the next delivery is due (NONE: nothing in flight). */
sipline_tstamp sim__net_next(const sim *s);
/* Delivers everything due at s->now, in send order. */
void sim__net_deliver_due(sim *s);
void sim__net_free(sim *s);

/* ---- registrar ----------------------------------------------------------- */

/* One entry of a registrar's script, as the scenario wrote it. */
typedef struct sim_registrar_script {
  sipline_tstamp at;
  const char *what; /* "ok", "silent", "reply:503:retry-after=30", ... */
} sim_registrar_script;

/* 1 when `what` is a behaviour the registrar knows. */
int sim__registrar_check(const char *what);
/* Adds the scripted registrar/proxy at a (name and address unique, every
   entry checked with sim__registrar_check, times in order). */
sim_endpoint *sim__registrar_add(sim *s, const char *name,
                                 const sipline_addr *a,
                                 const sim_registrar_script *script, size_t n);

/* ---- phones (sim_phone_ep.c, phone.c) ------------------------------------ */

/* Puts the scripted phone cfg behind the endpoint at name (which must
   exist): it takes every message but REGISTER while the endpoint serves.
   0, or 2 with err filled. */
int sim__phone_attach(sim *s, const char *name, const cJSON *cfg, char *err,
                      size_t cap);

/* ---- printer ------------------------------------------------------------- */

/* 1 when lines are built at all (out, --check, or --svg). */
int sim__printing(const sim *s);
/* One line: begin, add keys, end. */
void sim__line_begin(sim *s, const char *event, unsigned line);
void sim__line_end(sim *s);
void sim__jstr(sb *b, const char *k, const char *v);
void sim__jstrn(sb *b, const char *k, const char *v, size_t n);
void sim__jint(sb *b, const char *k, long long v);
void sim__jsecs(sb *b, const char *k, sipline_tstamp ms);

/* The scenario's name for an address (its key), else host:port. */
void sim__peer_name(const sim *s, const sipline_addr *a, char *out, size_t cap);
/* tx/rx lines: one per SIP message (or keep-alive) on the wire. */
void sim__print_wire(sim *s, const char *ev, const sipline_path *p,
                     const char *data, size_t len);
void sim__print_event(sim *s, const sipline_event *ev);
/* ttl < 0: the scenario gave none (not printed, so older timelines stay
   as they were). */
void sim__print_dns_answer(sim *s, const sipline_event *ev, size_t answers,
                           long long ttl);
void sim__print_tperr(sim *s, const sipline_path *p, int why);
void sim__print_call_error(sim *s, const call *c, int err);
void sim__print_profile_warnings(sim *s);
void sim__print_free(sim *s);

/* ---- picture (sim_svg.c) ------------------------------------------------ */

sim_svg *sim__svg_new(const sim *s);
/* One timeline line (every line, tx/rx too under --events-only). */
void sim__svg_line(sim *s, const char *json);
void sim__svg_free(sim_svg *g);

#endif
