/*
 * src/top/top.c: sipline_ua_new, the wiring of the engine (src/ua) and its
 * modules (src/reg, src/dlg, src/event), and the public calls that are a
 * module's business (sipline_ua_call / sipline_ua_hangup go to whichever
 * module has a call/hangup hook: dlg).
 *
 * Each module defines `const sipline__module sipline__<name>_module` (see
 * ua/ua.h) and adds ONE line X(<name>) to SIPLINE__MODULE_LIST below once it
 * compiles. Order matters: on_request is offered to modules in this order.
 */
#include "ua/ua.h"

/* MODULES: add yours here, one X(name) line each, e.g. X(reg). */
#define SIPLINE__MODULE_LIST(X) /* X(reg) X(dlg) X(event) */                   \
  X(reg)                                                                       \
  X(dlg)                                                                       \
  X(event)

#define SIPLINE__DECLARE(name)                                                 \
  extern const sipline__module sipline__##name##_module;
#define SIPLINE__ENTRY(name) &sipline__##name##_module,
SIPLINE__MODULE_LIST(SIPLINE__DECLARE)

static const sipline__module *const modules[] = {
    SIPLINE__MODULE_LIST(SIPLINE__ENTRY) NULL};

int sipline_ua_new(sipline_ua **pua, const sipline_settings *st,
                   const sipline_mem *mem, void *user_data) {
  return sipline__ua_create(pua, st, mem, user_data, modules,
                            (unsigned)(SIPLINE__ARRAY_LEN(modules) - 1));
}

int sipline_ua_call(sipline_ua *ua, unsigned line, const char *to,
                    unsigned *call_id, sipline_tstamp now) {
  if (!ua || !to)
    return SIPLINE_ERR_INVAL;
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->call)
      return ua->mods[i].m->call(ua, ua->mods[i].st, line, to, call_id, now);
  return SIPLINE_ERR_UNSUPPORTED;
}

int sipline_ua_hangup(sipline_ua *ua, unsigned call_id, sipline_tstamp now) {
  if (!ua)
    return SIPLINE_ERR_INVAL;
  for (unsigned i = 0; i < ua->n_mods; i++)
    if (ua->mods[i].m->hangup)
      return ua->mods[i].m->hangup(ua, ua->mods[i].st, call_id, now);
  return SIPLINE_ERR_UNSUPPORTED;
}
