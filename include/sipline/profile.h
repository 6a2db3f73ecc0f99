/*
 * sipline/profile.h: the vendor flat-profile XML (SPEC §1), read with expat.
 *
 * <flat-profile><Proxy_1_>pbx.example.com</Proxy_1_>...</flat-profile>
 * Per-line tags end in _n_ (n = 1, 2, ...); the others are global. Attributes
 * (ua="na") are ignored. Unknown tags are kept and reported, never an error;
 * a malformed value is an error naming the tag, the value and the line.
 *
 * The profile owns every string in it; sipline_profile_del frees it all.
 */
#ifndef SIPLINE_PROFILE_H
#define SIPLINE_PROFILE_H

#include "sipline/base.h"
#include "sipline/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A response-code pattern list (SPEC R8): "503,5??,6??". */
#define SIPLINE_RSC_MAX 32
typedef struct sipline_rsc {
  unsigned n;
  char pat[SIPLINE_RSC_MAX][3]; /* digits or '?' */
} sipline_rsc;

/*
 * Parses an RSC list. Invalid tokens are skipped (R8) and counted in
 * *n_invalid (may be NULL); the first one is copied to bad (may be NULL,
 * size badcap) so the caller can report it once.
 */
void sipline_rsc_parse(const char *s, sipline_rsc *out, unsigned *n_invalid,
                       char *bad, size_t badcap);
/* 1 when status matches a pattern of the list. */
int sipline_rsc_match(const sipline_rsc *r, int status);

/* One line (SIP account), SPEC §1. Strings are NULL when not set. */
typedef struct sipline_line_cfg {
  unsigned n; /* the line number, 1-based */
  char *proxy;
  char *outbound_proxy;
  char *alt_proxy;
  char *alt_outbound_proxy;
  char *user_id;
  char *password;
  char *auth_id;
  char *display_name;
  int use_auth_id;                 /* No */
  int dual_registration;           /* No */
  int reg;                         /* Register: Yes */
  uint32_t register_expires;       /* 3600 s, 32..2000000 */
  uint32_t proxy_fallback_intvl;   /* 3600 s, 0..65535, 0 = never */
  int auto_register_when_failover; /* Yes */
  int use_dns_srv;                 /* No */
  int dns_srv_auto_prefix;         /* No */
  sipline_transport transport;     /* UDP */
  uint16_t sip_port;               /* 5060 + n - 1 */
  int auth_resync_reboot;          /* Yes */
  /* Beyond the seed: dead-proxy detection between refreshes (off). */
  uint32_t keepalive_intvl;      /* Keep_Alive_Intvl_n_, s, 0 = off */
  uint32_t keepalive_fail_count; /* Keep_Alive_Fail_Count_n_, 3 */
  /* RFC 4028 session timers (SPEC R16): Session_Expires_n_ (1800 s, 0 =
   * off: not asked for, still honoured when the peer asks) and Min_SE_n_
   * (90 s, at least 90). */
  uint32_t session_expires;
  uint32_t min_se;
  /* Auto_Answer_n_: answer incoming calls after this many seconds
   * (0..3600); UINT32_MAX (empty, No, Off) = off, the default. */
  uint32_t auto_answer;
  /* Secure_Call_Setting_n_: calls offer RTP/SAVP with an SDES key
   * (AES_CM_128_HMAC_SHA1_80) and take only SRTP (No by default). */
  int secure_call;
  /* What the daemon does with the media of incoming calls it answers
   * (auto-answer or a plain `answer`), NULL when not set:
   * Answer_Play_n_: a WAV file played into each answered call;
   * Answer_Record_Dir_n_: a directory where each answered call's received
   * audio is recorded as a WAV named by the call's Call-ID and time.
   * The library only keeps the text; siplined checks at load that the file
   * is readable and the directory writable. */
  char *answer_play;
  char *answer_record_dir;
} sipline_line_cfg;

/* An unknown tag, kept as read. */
typedef struct sipline_profile_extra {
  char *tag;
  char *value;
  unsigned file_line;
} sipline_profile_extra;

typedef struct sipline_profile {
  unsigned n_lines; /* highest line number configured (at least 1) */
  sipline_line_cfg *lines; /* lines[0] is line 1 */

  sipline_rsc try_backup_rsc;          /* empty */
  sipline_rsc retry_reg_rsc;           /* empty */
  uint32_t reg_retry_intvl;            /* 30 s */
  uint32_t reg_retry_long_intvl;       /* 1200 s, 0 = stop retrying */
  uint32_t reg_retry_random_delay;     /* 0 s */
  uint32_t reg_retry_long_random_delay;/* 0 s */
  uint32_t reg_retry_intvl_cap;        /* 0 = no backoff */
  uint32_t reg_min_expires;            /* 1 s */
  uint32_t reg_max_expires;            /* 7200 s */
  uint32_t t1_ms, t2_ms, t4_ms;        /* 500, 4000, 5000 */
  uint32_t timer_b_ms, timer_f_ms, timer_h_ms, timer_d_ms, timer_j_ms;
                                       /* 16000 each (SPEC §1) */
  int resync_from_sip;                 /* Yes */
  int block_nonproxy_sip;              /* Block_Nonproxy_SIP: No */
  char *resync_command;                /* Resync_Command: none (daemon) */
  char *reboot_command;                /* Reboot_Command: none (daemon) */

  unsigned n_extra;
  sipline_profile_extra *extra;
  const sipline_mem *mem;

  /*
   * Warnings about values that were read but partly ignored (an invalid RSC
   * token, R8: reported once per tag). tag and file_line as for extra; value
   * holds the sentence ("Try_Backup_RSC: token '5x' ignored (1 invalid)").
   */
  unsigned n_warnings;
  sipline_profile_extra *warnings;
} sipline_profile;

/* The highest line number a profile accepts (Proxy_100000_). */
#define SIPLINE_PROFILE_MAX_LINES 100000u
/* The largest document sipline_profile_parse reads, and its nesting. The
 * size follows the line count: a fleet of 100,000 lines with a server list,
 * user, password and port each takes about 200 bytes a line (20 MB), so
 * 64 MiB leaves room for more tags per line; 1 MiB stopped at ~5,000. */
#define SIPLINE_PROFILE_MAX_SIZE (64u * 1024u * 1024u)
#define SIPLINE_PROFILE_MAX_DEPTH 8u

/* Where a profile error is, for a one-line message. */
typedef struct sipline_profile_error {
  char tag[64];
  char value[128];
  unsigned file_line;
  char what[160]; /* a sentence: "Register_Expires_1_: 10 is below 32" */
} sipline_profile_error;

/* A profile with every default and one line (line 1). */
int sipline_profile_new(sipline_profile **out, const sipline_mem *mem);
void sipline_profile_del(sipline_profile *p);

/*
 * Reads an XML document into *out (created here, defaults applied first).
 * Limits: SIPLINE_PROFILE_MAX_SIZE (64 MiB), depth 8, no DTD, no entities
 * other than the five XML ones.
 * Returns 0, SIPLINE_ERR_CONFIG / SIPLINE_ERR_MALFORMED / SIPLINE_ERR_TOOBIG
 * with *err filled (err may be NULL), or SIPLINE_ERR_NOMEM.
 */
int sipline_profile_parse(sipline_profile **out, const char *xml, size_t len,
                          const sipline_mem *mem, sipline_profile_error *err);

/*
 * Sets one tag as if it were read from a file (tools apply overrides this
 * way: sipline-sim's profile_keys). Creates line n if needed.
 */
int sipline_profile_set(sipline_profile *p, const char *tag,
                        const char *value, sipline_profile_error *err);

/*
 * A deep copy of src made with mem (NULL: C library), e.g. for a UA that
 * keeps its own. Returns 0, SIPLINE_ERR_INVAL or SIPLINE_ERR_NOMEM.
 * Use this rather than copying the struct: pointers (extra, warnings, the
 * strings) must never be shared between two profiles.
 */
int sipline_profile_copy(sipline_profile **out, const sipline_profile *src,
                         const sipline_mem *mem);

/* The line's config (1-based), or NULL. */
const sipline_line_cfg *sipline_profile_line(const sipline_profile *p,
                                             unsigned n);

#ifdef __cplusplus
}
#endif
#endif
