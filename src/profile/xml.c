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

static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset) {
  sipline__xml *x = ud;
  (void)sysid;
  (void)pubid;
  (void)has_internal_subset;
  x->refuse(x->ud, SIPLINE__XML_DOCTYPE, name);
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
                              const XML_Char *value, int value_length,
                              const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation) {
  sipline__xml *x = ud;
  (void)is_param;
  (void)value;
  (void)value_length;
  (void)base;
  (void)sysid;
  (void)pubid;
  (void)notation;
  x->refuse(x->ud, SIPLINE__XML_ENTITY, name);
}

static int XMLCALL on_ext_entity(XML_Parser xp, const XML_Char *context,
                                 const XML_Char *base, const XML_Char *sysid,
                                 const XML_Char *pubid) {
  (void)xp;
  (void)context;
  (void)base;
  (void)sysid;
  (void)pubid;
  return XML_STATUS_ERROR; /* never fetched */
}

int sipline__xml_open(sipline__xml *x, const sipline_mem *mem, void *ud,
                      sipline__xml_refuse refuse) {
  static const XML_Memory_Handling_Suite suite = {x_malloc, x_realloc, x_free};
  x->saved = xml_mem;
  x->ud = ud;
  x->refuse = refuse;
  xml_mem = mem;
  x->xp = XML_ParserCreate_MM(NULL, &suite, NULL);
  if (!x->xp)
    return SIPLINE_ERR_NOMEM;
  XML_SetUserData(x->xp, x);
  XML_SetStartDoctypeDeclHandler(x->xp, on_doctype);
  XML_SetEntityDeclHandler(x->xp, on_entity);
  XML_SetExternalEntityRefHandler(x->xp, on_ext_entity);
  XML_SetParamEntityParsing(x->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  return 0;
}

void sipline__xml_close(sipline__xml *x) {
  if (x->xp)
    XML_ParserFree(x->xp);
  x->xp = NULL;
  xml_mem = x->saved;
}
