/*
 * Audio sources and the recorder of a media session (media.c): 8 kHz mono
 * 16-bit frames of SM_FRAME samples. Internal to daemon/media.
 */
#ifndef SIPLINED_MEDIA_AUDIO_H
#define SIPLINED_MEDIA_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_RATE 8000
#define SM_FRAME 160 /* 20 ms at 8 kHz */

typedef enum { SM_SRC_SILENCE, SM_SRC_TONE, SM_SRC_FILE } sm_src_kind;

typedef struct sm_src {
  sm_src_kind kind;
  /* tone */
  double phase, step, amp;
  /* file: the whole file, converted to 8 kHz mono when opened */
  int16_t *pcm;
  size_t len, pos;
  bool loop, ended;
} sm_src;

/* Longest file we load: 10 minutes at 8 kHz. */
#define SM_SRC_MAX_SAMPLES ((size_t)SM_RATE * 600)

void sm_src_silence(sm_src *s);
/* A sine of hz at level dbm0 (0 dBm0 = 3.14 dB below a full-scale sine,
 * G.711's reference). */
void sm_src_tone(sm_src *s, double hz, double dbm0);
/* Loads a sound file libsndfile reads (WAV and others), mixed down to mono
 * and, when its rate is not 8 kHz, resampled by linear interpolation
 * (no low-pass filter first: content above 4 kHz aliases; speech and tone
 * files are fine). SIPLINE_ERR_IO when it cannot be opened or read,
 * SIPLINE_ERR_TOOBIG beyond SM_SRC_MAX_SAMPLES, SIPLINE_ERR_NOMEM. */
int sm_src_file(sm_src *s, const char *path, bool loop);
/* Whether path is a sound file sm_src_file would load (opened and closed,
 * nothing read): 0, or SIPLINE_ERR_IO / SIPLINE_ERR_TOOBIG with a sentence
 * in why ("No such file or directory", libsndfile's reason). */
int sm_src_check(const char *path, char *why, size_t cap);
/* Fills one frame; after the end of a file that does not loop, silence
 * (and ended is set). */
void sm_src_read(sm_src *s, int16_t out[SM_FRAME]);
void sm_src_free(sm_src *s);

typedef struct sm_rec sm_rec;
/* A WAV file of 8 kHz mono 16-bit PCM. SIPLINE_ERR_IO. */
int sm_rec_open(sm_rec **r, const char *path);
int sm_rec_write(sm_rec *r, const int16_t *pcm, size_t n);
uint64_t sm_rec_samples(const sm_rec *r);
void sm_rec_close(sm_rec *r);

#endif
