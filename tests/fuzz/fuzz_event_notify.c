/*
 * tests/fuzz/fuzz_event_notify.c: the NOTIFY UAS (SPEC R17-R21) on arbitrary
 * datagrams, through the UA engine with the event module. Line 3 (user 1003)
 * has Auth_Resync-Reboot = No, so fuzzed bodies reach the XML reader; line 1
 * challenges. Invariants: no crash or leak; at most one answer per request;
 * no event carries the password.
 */
#define _GNU_SOURCE 1 /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "ua/ua.h"

extern const sipline__module sipline__event_module;

static const char profile_xml[] =
    "<flat-profile>"
    "<Proxy_1_>10.0.0.1</Proxy_1_><User_ID_1_>1001</User_ID_1_>"
    "<Password_1_>fuzz-secret-pw</Password_1_>"
    "<User_ID_3_>1003</User_ID_3_><Password_3_>fuzz-secret-pw</Password_3_>"
    "<Auth_Resync-Reboot_3_>No</Auth_Resync-Reboot_3_>"
    "</flat-profile>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static sipline_profile *prof;
  if (!prof && sipline_profile_parse(&prof, profile_xml,
                                     sizeof(profile_xml) - 1, NULL, NULL) != 0)
    abort();
  sipline_settings st = {.profile = prof, .seed = 1};
  static const sipline__module *const mods[] = {&sipline__event_module};
  sipline_ua *ua;
  if (sipline__ua_create(&ua, &st, NULL, NULL, mods, 1) != 0)
    abort();
  sipline_path p;
  memset(&p, 0, sizeof(p));
  p.tp = SIPLINE_TP_UDP;
  sipline_addr_parse("127.0.0.1:5060", 14, &p.local);
  sipline_addr_parse("10.0.0.1:5060", 13, &p.remote);
  sipline_ua_recv(ua, &p, data, size, 1000);
  sipline_path out;
  const uint8_t *b;
  int n = 0;
  while (sipline_ua_pull_tx(ua, &out, &b, 1000) >= 0)
    n++;
  if (n > 1)
    abort();
  /* The password may only show up if the sender wrote it himself. */
  int echoed = memmem(data, size, "fuzz-secret-pw", 14) != NULL;
  sipline_event ev;
  while (sipline_ua_poll_event(ua, &ev))
    if (!echoed && (strstr(ev.text, "fuzz-secret-pw") ||
                    strstr(ev.reason, "fuzz-secret-pw") ||
                    strstr(ev.from, "fuzz-secret-pw")))
      abort();
  sipline_ua_del(ua);
  return 0;
}
