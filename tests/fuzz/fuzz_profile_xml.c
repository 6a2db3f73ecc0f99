/*
 * tests/fuzz/fuzz_profile_xml.c: the flat-profile reader on arbitrary bytes.
 * Invariants: no crash or leak; success gives at least one line, every
 * line numbered in order, and an error always comes with a sentence.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sipline/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sipline_profile *p = NULL;
  sipline_profile_error err;
  int rc = sipline_profile_parse(&p, (const char *)data, size, NULL, &err);
  if (rc == 0) {
    if (!p || p->n_lines < 1)
      abort();
    for (unsigned i = 1; i <= p->n_lines; i++)
      if (sipline_profile_line(p, i)->n != i)
        abort();
    if (p->reg_min_expires > p->reg_max_expires)
      abort();
    sipline_profile_del(p);
  } else {
    if (p)
      abort();
    if (rc != SIPLINE_ERR_NOMEM && err.what[0] == '\0')
      abort();
  }
  return 0;
}
