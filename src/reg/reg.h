/*
 * src/reg/reg.h: what the reg module offers other modules beyond the engine's
 * hooks (ua/ua.h). Header-only on purpose: a module reaches it through
 * sipline__ua_module_state(ua, "reg"), whose first member is this table, so
 * dlg does not link against reg (its unit tests run without it).
 */
#ifndef SIPLINE_REG_H
#define SIPLINE_REG_H

#include "ua/ua.h"

typedef struct sipline__reg_api {
  /*
   * The alternate server of a line with Dual Registration (R4), for an
   * INVITE that timed out at the primary. 0 when filled,
   * SIPLINE_ERR_NOTFOUND without one.
   */
  int (*alt_target)(sipline_ua *ua, unsigned line, sipline__target *t);
} sipline__reg_api;

/* The reg module's table, or NULL when the UA has no reg module. */
static inline const sipline__reg_api *sipline__reg_api_of(sipline_ua *ua) {
  return (const sipline__reg_api *)sipline__ua_module_state(ua, "reg");
}

#endif
