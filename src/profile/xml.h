/*
 * src/profile/xml.h: the one way sipline opens an expat parser on untrusted
 * XML (the flat profile here, CiscoIPPhoneExecute bodies in src/event).
 *
 * Hardening lives in one place: parameter entities are never parsed, and
 * the caller's handlers are installed for a DOCTYPE, an entity declaration
 * and an external entity reference, so that each reader refuses them with
 * its own error (before any expansion: no billion laughs, no XXE). Every
 * allocation expat makes goes through the caller's sipline_mem.
 */
#ifndef SIPLINE_PROFILE_XML_H
#define SIPLINE_PROFILE_XML_H

#include <expat.h>

#include "sipline/base.h"

typedef struct sipline__xml {
  XML_Parser xp;
  const sipline_mem *saved; /* the allocator of an enclosing parse */
} sipline__xml;

typedef struct sipline__xml_guards {
  XML_StartDoctypeDeclHandler doctype;
  XML_EntityDeclHandler entity;
  XML_ExternalEntityRefHandler ext_entity;
} sipline__xml_guards;

/*
 * Creates the parser with user data ud and the guards. Returns 0, or
 * SIPLINE_ERR_NOMEM (x->xp is NULL then). Always pair with
 * sipline__xml_close, on the same thread, even after a failure.
 */
int sipline__xml_open(sipline__xml *x, const sipline_mem *mem, void *ud,
                      const sipline__xml_guards *g);
/* Frees the parser (if any) and restores the previous allocator. */
void sipline__xml_close(sipline__xml *x);

#endif
