/*
 * The jitter buffer (see rtp.h): a ring of SM_JB_SLOTS payloads indexed by
 * sequence number, a playout point `next`, and the highest sequence number
 * seen `hi`. All sequence arithmetic is modulo 2^16 through int16_t
 * differences, so the wrap from 65535 to 0 is nothing special.
 */
#include "rtp.h"

#include <string.h>

/* A jump further than this (either way) is a restarted sender, not
 * reordering or loss: RFC 3550 A.1 uses the same bound for misordering. */
#define RESTART_JUMP 100

void sm_jb_init(sm_jb *jb, unsigned prefetch, unsigned max) {
  memset(jb, 0, sizeof *jb);
  if (prefetch == 0)
    prefetch = 2;
  if (max == 0)
    max = 6;
  if (prefetch > SM_JB_SLOTS / 2)
    prefetch = SM_JB_SLOTS / 2;
  if (max < prefetch)
    max = prefetch;
  if (max > SM_JB_SLOTS - 1)
    max = SM_JB_SLOTS - 1;
  jb->prefetch = prefetch;
  jb->max = max;
}

static void restart(sm_jb *jb) {
  for (unsigned i = 0; i < SM_JB_SLOTS; i++)
    jb->slot[i].used = false;
  jb->playing = false;
  jb->ran = false;
  jb->misses = 0;
  jb->st.reset++;
}

unsigned sm_jb_depth(const sm_jb *jb) {
  unsigned d = 0;
  for (unsigned i = 0; i < SM_JB_SLOTS; i++)
    d += jb->slot[i].used;
  return d;
}

static int16_t sdiff(uint16_t a, uint16_t b) {
  return (int16_t)(uint16_t)(a - b);
}

int sm_jb_put(sm_jb *jb, uint32_t ssrc, uint16_t seq, const uint8_t *p,
              size_t n) {
  if (n > SM_JB_FRAME)
    return SIPLINE_ERR_TOOBIG;
  int rc = SM_JB_OK;
  if (!jb->have_ssrc || jb->ssrc != ssrc) {
    if (jb->have_ssrc) {
      restart(jb);
      rc = SM_JB_RESET;
    }
    jb->have_ssrc = true;
    jb->ssrc = ssrc;
  }
  /* After an underrun, a straggler from before the last frame played is
   * late, not the start of a new talk spurt. */
  if (!jb->playing && jb->ran) {
    int16_t d = sdiff(seq, jb->last);
    if (d <= 0 && d >= -RESTART_JUMP) {
      jb->st.late++;
      return SM_JB_LATE;
    }
    /* Far behind the last frame played: the sender restarted its
     * sequence. Say so, and forget `last`: it belonged to the old run,
     * and kept, it would have let the new run's packets past the late
     * check here and yet be "behind" what was played (found by
     * fuzz_media_rtp: 65453 buffered after 31, then 65535 played). */
    if (d < -RESTART_JUMP) {
      restart(jb);
      rc = SM_JB_RESET;
    }
  }
  bool empty = sm_jb_depth(jb) == 0;
  if (!jb->playing && empty) {
    jb->next = jb->hi = seq;
  } else {
    int16_t d = sdiff(seq, jb->next);
    if (d > RESTART_JUMP || d < -RESTART_JUMP) {
      restart(jb);
      jb->next = jb->hi = seq;
      rc = SM_JB_RESET;
    } else if (d < 0) {
      if (jb->playing) {
        jb->st.late++;
        return SM_JB_LATE;
      }
      /* Still buffering: an earlier packet moves the start back, if the
       * window can still hold everything from it to hi. */
      if (sdiff(jb->hi, seq) >= (int)SM_JB_SLOTS - 1) {
        jb->st.late++;
        return SM_JB_LATE;
      }
      jb->next = seq;
    }
  }
  if (sdiff(seq, jb->hi) > 0)
    jb->hi = seq;
  /* Too much waiting: drop the oldest so the delay stays bounded (and the
   * ring never holds two sequence numbers in one slot). */
  unsigned limit = jb->playing ? jb->max : SM_JB_SLOTS - 1;
  while (sdiff(jb->hi, jb->next) + 1 > (int)limit) {
    sm_jb_slot *s = &jb->slot[jb->next % SM_JB_SLOTS];
    if (s->used && s->seq == jb->next)
      s->used = false;
    jb->next++;
    jb->st.overflow++;
  }
  sm_jb_slot *s = &jb->slot[seq % SM_JB_SLOTS];
  if (s->used && s->seq == seq) {
    jb->st.dup++;
    return SM_JB_DUP;
  }
  s->used = true;
  s->seq = seq;
  s->len = (uint16_t)n;
  if (n)
    memcpy(s->data, p, n);
  jb->st.put++;
  if (!jb->playing && sm_jb_depth(jb) >= jb->prefetch) {
    jb->playing = true;
    jb->misses = 0;
  }
  return rc;
}

int sm_jb_get(sm_jb *jb, uint8_t out[SM_JB_FRAME], size_t *n) {
  *n = 0;
  if (!jb->playing)
    return SM_JB_EMPTY;
  sm_jb_slot *s = &jb->slot[jb->next % SM_JB_SLOTS];
  uint16_t want = jb->next++;
  if (s->used && s->seq == want) {
    s->used = false;
    jb->last = want;
    memcpy(out, s->data, s->len);
    *n = s->len;
    jb->misses = 0;
    jb->ran = true;
    jb->st.played++;
    return SM_JB_FRAME_OK;
  }
  jb->st.missing++;
  /* Nothing at all for a while: the stream stopped (hold, end of talk
   * spurt): buffer again from the next packet instead of concealing. */
  if (++jb->misses > jb->max && sm_jb_depth(jb) == 0) {
    jb->playing = false;
    return SM_JB_EMPTY;
  }
  if (sdiff(jb->hi, want) < 0)
    jb->hi = want; /* keep hi >= next - 1 while running dry */
  return SM_JB_FRAME_LOST;
}
