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
#include "dlg/dlg.h"
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

/* Calls are the dlg module's (sipline/call.h). */
int sipline_ua_call(sipline_ua *ua, const sipline_call_params *p,
                    unsigned *call_id, sipline_tstamp now) {
  if (!ua || !p)
    return SIPLINE_ERR_INVAL;
  return sipline__dlg_call(ua, p, call_id, now);
}

int sipline_ua_call_answer(sipline_ua *ua, unsigned call_id,
                           const sipline_call_answer *a, sipline_tstamp now) {
  return ua ? sipline__dlg_answer(ua, call_id, a, now) : SIPLINE_ERR_INVAL;
}

int sipline_ua_call_reject(sipline_ua *ua, unsigned call_id, int status,
                           sipline_tstamp now) {
  return ua ? sipline__dlg_reject(ua, call_id, status, now)
            : SIPLINE_ERR_INVAL;
}

int sipline_ua_call_update(sipline_ua *ua, unsigned call_id, const char *sdp,
                           size_t sdp_len, sipline_tstamp now) {
  return ua ? sipline__dlg_update(ua, call_id, sdp, sdp_len, now)
            : SIPLINE_ERR_INVAL;
}

int sipline_ua_call_reinvite(sipline_ua *ua, unsigned call_id,
                             const char *sdp, size_t sdp_len,
                             sipline_tstamp now) {
  return ua ? sipline__dlg_reinvite(ua, call_id, sdp, sdp_len, now)
            : SIPLINE_ERR_INVAL;
}

int sipline_ua_call_sdp(sipline_ua *ua, unsigned call_id, const char *sdp,
                        size_t sdp_len, sipline_tstamp now) {
  return ua ? sipline__dlg_sdp(ua, call_id, sdp, sdp_len, now)
            : SIPLINE_ERR_INVAL;
}

int sipline_ua_hangup(sipline_ua *ua, unsigned call_id, sipline_tstamp now) {
  return ua ? sipline__dlg_hangup(ua, call_id, now) : SIPLINE_ERR_INVAL;
}

int sipline_ua_call_end(sipline_ua *ua, unsigned call_id,
                        const sipline_call_end *e, sipline_tstamp now) {
  return ua ? sipline__dlg_end(ua, call_id, e, now) : SIPLINE_ERR_INVAL;
}

int sipline_ua_call_info(sipline_ua *ua, unsigned call_id,
                         sipline_call_info *info) {
  return ua ? sipline__dlg_info(ua, call_id, info) : SIPLINE_ERR_INVAL;
}
