/*
 * src/event/event.h: internals of the event module (SPEC R17-R21): the
 * incoming NOTIFY handler and the CiscoIPPhoneExecute reader.
 */
#ifndef SIPLINE_EVENT_INTERNAL_H
#define SIPLINE_EVENT_INTERNAL_H

#include "sipline/event.h"
#include "sipline/ua.h"

/*
 * What a URL is: 0 for http(s) with a host, 1 for one of the phone's own
 * URIs (Dial:, EditDial:, Key:, Init:, Play:, with something after the
 * colon), -1 for anything else (other schemes, control characters, spaces
 * in an http URL, longer than SIPLINE_EXEC_MAX_URL).
 */
int sipline__exec_url_kind(sipline_pl url);

/*
 * The line has no call in progress any more: queued priority-1 items of the
 * line are reported (SIPLINE_EV_EXECUTE, state "run"). The module's
 * on_line_idle hook calls this; a test may call it directly.
 */
void sipline__event_line_idle(sipline_ua *ua, unsigned line,
                              sipline_tstamp now);

/* Priority-1 items waiting for line to be idle (tests, status). */
unsigned sipline__event_queued(const sipline_ua *ua, unsigned line);

#endif
