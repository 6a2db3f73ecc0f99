/*
 * daemon/log.h: siplined's text log (stderr or syslog), with levels.
 *
 * Text logs never carry secrets: the profile's passwords are never passed
 * here, and SIP messages logged at debug level go through slog_redact(),
 * which blanks Authorization and Proxy-Authorization values.
 */
#ifndef SIPLINED_LOG_H
#define SIPLINED_LOG_H

#include <stddef.h>

enum slog_level { SLOG_ERROR = 0, SLOG_WARN, SLOG_INFO, SLOG_DEBUG };

/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int slog_level_parse(const char *s);
/* Sets the threshold and the sink (use_syslog: 1 for syslog(3)). */
void slog_init(int level, int use_syslog, const char *ident);
int slog_enabled(int level);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void slog(int level, const char *fmt, ...);

/*
 * Copies a SIP message into out (NUL-terminated, truncated to cap) with the
 * value of every Authorization and Proxy-Authorization header (and their
 * folded continuation lines) replaced by "<redacted>". The body is copied
 * as is. Returns the length written.
 */
size_t slog_redact(const char *msg, size_t len, char *out, size_t cap);

#endif
