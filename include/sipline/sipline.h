/*
 * sipline/sipline.h: the whole public API of libsipline.
 *
 * sipline is a sans-IO SIP user agent core: no sockets, clocks, threads or
 * random sources inside. See ua.h for the driving contract.
 */
#ifndef SIPLINE_SIPLINE_H
#define SIPLINE_SIPLINE_H

#include "sipline/base.h"
#include "sipline/net.h"
#include "sipline/msg.h"
#include "sipline/auth.h"
#include "sipline/profile.h"
#include "sipline/ua.h"
#include "sipline/event.h"
#include "sipline/sdp.h"

#endif
