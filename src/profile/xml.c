/* src/profile/xml.c: hardened expat parsers (see xml.h). */
#include "profile/xml.h"

/*
 * expat's memory suite has no user pointer, so the allocator of the parse in
 * progress is kept per thread; open/close save and restore it, so a parse
 * started from inside another one (none does today) would still be right.
 */
static _Thread_local const sipline_mem *xml_mem;

static void *x_malloc(size_t n) {
  return sipline_mem_malloc(xml_mem, n);
}
static void *x_realloc(void *p, size_t n) {
  return sipline_mem_realloc(xml_mem, p, n);
}
static void x_free(void *p) {
  sipline_mem_free(xml_mem, p);
}

int sipline__xml_open(sipline__xml *x, const sipline_mem *mem, void *ud,
                      const sipline__xml_guards *g) {
  static const XML_Memory_Handling_Suite suite = {x_malloc, x_realloc, x_free};
  x->saved = xml_mem;
  xml_mem = mem;
  x->xp = XML_ParserCreate_MM(NULL, &suite, NULL);
  if (!x->xp)
    return SIPLINE_ERR_NOMEM;
  XML_SetUserData(x->xp, ud);
  XML_SetStartDoctypeDeclHandler(x->xp, g->doctype);
  XML_SetEntityDeclHandler(x->xp, g->entity);
  XML_SetExternalEntityRefHandler(x->xp, g->ext_entity);
  XML_SetParamEntityParsing(x->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  return 0;
}

void sipline__xml_close(sipline__xml *x) {
  if (x->xp)
    XML_ParserFree(x->xp);
  x->xp = NULL;
  xml_mem = x->saved;
}
