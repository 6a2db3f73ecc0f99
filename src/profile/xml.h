/*
 * src/profile/xml.h: the one way sipline opens an expat parser on untrusted
 * XML (the flat profile here, CiscoIPPhoneExecute bodies in src/event).
 *
 * Hardening lives in one place: parameter entities are never parsed, and a
 * DOCTYPE, an entity declaration or an external entity reference is
 * refused here, before any expansion (no billion laughs, no XXE): the
 * reader's refuse hook is told which, to word its own error and stop the
 * parser. Every allocation expat makes goes through the caller's
 * sipline_mem.
 */
#ifndef SIPLINE_PROFILE_XML_H
#define SIPLINE_PROFILE_XML_H

#include <expat.h>

#include "sipline/base.h"

/* What a reader is told it must refuse. */
typedef enum sipline__xml_refusal {
  SIPLINE__XML_DOCTYPE = 1, /* <!DOCTYPE name ...> */
  SIPLINE__XML_ENTITY,      /* <!ENTITY name ...> (in a DOCTYPE) */
} sipline__xml_refusal;

/* Records the reader's error and stops the parser (XML_StopParser). name
 * is the declared name, possibly NULL. */
typedef void (*sipline__xml_refuse)(void *ud, sipline__xml_refusal what,
                                    const char *name);

typedef struct sipline__xml {
  XML_Parser xp;
  const sipline_mem *saved; /* the allocator of an enclosing parse */
  void *ud;                 /* the reader's state */
  sipline__xml_refuse refuse;
} sipline__xml;

/*
 * Creates the parser; its expat user data is x itself, so the reader's
 * handlers get their state with sipline__xml_ud(). Returns 0, or
 * SIPLINE_ERR_NOMEM (x->xp is NULL then). Always pair with
 * sipline__xml_close, on the same thread, even after a failure.
 */
int sipline__xml_open(sipline__xml *x, const sipline_mem *mem, void *ud,
                      sipline__xml_refuse refuse);
/* The reader's state from an expat handler's user data. */
static inline void *sipline__xml_ud(void *expat_ud) {
  return ((sipline__xml *)expat_ud)->ud;
}
/* Frees the parser (if any) and restores the previous allocator. */
void sipline__xml_close(sipline__xml *x);

#endif
