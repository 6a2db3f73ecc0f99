/*
 * tools/sipline-sim/phone.h: a scripted far-end phone for sipline-sim.
 *
 * A phone sits behind a simulated server address: the server still
 * answers REGISTER as its behaviour says, and every other message (calls,
 * UPDATE, re-INVITE, PRACK, BYE and their responses) goes to the phone,
 * which is a second sipline core (the same code as the line under test)
 * driven by a script: when to ring and answer (180, or a reliable 183 with
 * the SDP answer), what to do with offers (answer, refuse, ignore), whether
 * UPDATE is answered 501 (as baresip 1.0.0 does), and actions at given
 * times (UPDATE or re-INVITE with or without an offer, hang up, call the
 * line). Scenario syntax: examples/sim/README.md ("phones").
 */
#ifndef SIPLINE_SIM_PHONE_H
#define SIPLINE_SIM_PHONE_H

#include <cjson/cJSON.h>

#include "sipline/sipline.h"

typedef struct sim_phone sim_phone;

/*
 * Creates a phone at self (the server's address) that sends to ua_addr
 * (the line under test). cfg is the scenario's object for it; where names
 * it in error messages. 0, or 2 with err filled (a bad scenario).
 */
int sim_phone_new(sim_phone **out, const char *where, const sipline_addr *self,
                  const sipline_addr *ua_addr, const cJSON *cfg, uint64_t seed,
                  char *err, size_t cap);
void sim_phone_del(sim_phone *ph);

/* A message from the line under test (UDP). */
void sim_phone_rx(sim_phone *ph, const char *data, size_t len,
                  sipline_tstamp now);
/* The phone's next deadline (its core's timers and its script). */
sipline_tstamp sim_phone_next(const sim_phone *ph);
/* Runs what is due at now. */
void sim_phone_run(sim_phone *ph, sipline_tstamp now);
/* The next datagram for the line under test: its length (p set, valid
 * until the next call), or -1 when none. */
ptrdiff_t sim_phone_pull(sim_phone *ph, const uint8_t **p, sipline_tstamp now);
/* The next event to print (the phone's call and SDP events): 1 or 0. */
int sim_phone_event(sim_phone *ph, sipline_event *ev);

#endif
