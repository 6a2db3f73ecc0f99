/*
 * src/msg/param.h: walking a parameter list, for modules that do not take
 * the parser's whole internal header (msg.h).
 */
#ifndef SIPLINE_MSG_PARAM_H
#define SIPLINE_MSG_PARAM_H

#include "sipline/msg.h"

/*
 * The next ";name[=value]" of a parameter list (the grammar of
 * sipline_param_get, which is built on it): 1 with name and value (empty
 * without '='; quotes kept), 0 at the end. rest advances past it. A caller
 * that wants several parameters walks the list once.
 */
int sipline__param_next(sipline_pl *rest, sipline_pl *name, sipline_pl *val);

#endif
