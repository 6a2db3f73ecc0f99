/*
 * tests/fuzz/fuzz_event_xml.c: the CiscoIPPhoneExecute reader on arbitrary
 * bodies. The first byte picks the Content-Type. Invariants: no crash or
 * leak; success gives 1..3 items with valid URLs; a refusal gives 400/415
 * and a reason phrase without control characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "sipline/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const types[] = {
      "application/x-cisco-remotecc-request+xml",
      "text/xml",
      "application/xml",
      "text/plain",
      "text/html",
      "application/sdp"};
  if (size == 0)
    return 0;
  const char *ct = types[data[0] % 6];
  sipline_exec x;
  sipline_exec_error e;
  int rc = sipline_exec_parse(sipline_pl_str(ct),
                              (sipline_pl){(const char *)data + 1, size - 1},
                              &x, &e, NULL);
  if (rc == 0) {
    if (x.n < 1 || x.n > SIPLINE_EXEC_MAX_ITEMS)
      abort();
    for (unsigned i = 0; i < x.n; i++) {
      size_t n = strlen(x.items[i].url);
      int k = sipline__exec_url_kind((sipline_pl){x.items[i].url, n});
      if (k < 0 || k != x.items[i].internal)
        abort();
      if ((unsigned)x.items[i].priority > 2)
        abort();
    }
  } else {
    if (e.status != 400 && e.status != 415)
      abort();
    for (const char *c = e.reason; *c; c++)
      if ((unsigned char)*c < 0x20)
        abort();
  }
  return 0;
}
