/*
 * Audio sources (silence, a tone, a sound file) and the WAV recorder, on
 * libsndfile.
 */
#include "audio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include <sipline/base.h>

void sm_src_free(sm_src *s) {
  free(s->pcm);
  memset(s, 0, sizeof *s);
}

void sm_src_silence(sm_src *s) {
  sm_src_free(s);
  s->kind = SM_SRC_SILENCE;
}

void sm_src_tone(sm_src *s, double hz, double dbm0) {
  sm_src_free(s);
  s->kind = SM_SRC_TONE;
  s->step = 2 * M_PI * hz / SM_RATE;
  s->amp = 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0);
  if (s->amp > 32767)
    s->amp = 32767;
}

int sm_src_check(const char *path, char *why, size_t cap) {
  /* fopen first: errno's sentence is clearer than libsndfile's for a file
   * that is missing or unreadable. */
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, cap, "%s", strerror(errno));
    return SIPLINE_ERR_IO;
  }
  fclose(f);
  SF_INFO info;
  memset(&info, 0, sizeof info);
  SNDFILE *sf = sf_open(path, SFM_READ, &info);
  if (!sf) {
    snprintf(why, cap, "not a sound file libsndfile reads (%s)",
             sf_strerror(NULL));
    return SIPLINE_ERR_IO;
  }
  int rc = 0;
  if (info.channels < 1 || info.samplerate < 1 || info.frames < 0) {
    snprintf(why, cap, "no audio in it");
    rc = SIPLINE_ERR_IO;
  } else if ((double)info.frames * SM_RATE / info.samplerate >
             (double)SM_SRC_MAX_SAMPLES) {
    snprintf(why, cap, "longer than %u s",
             (unsigned)(SM_SRC_MAX_SAMPLES / SM_RATE));
    rc = SIPLINE_ERR_TOOBIG;
  }
  sf_close(sf);
  return rc;
}

int sm_src_file(sm_src *s, const char *path, bool loop) {
  SF_INFO info;
  memset(&info, 0, sizeof info);
  SNDFILE *sf = sf_open(path, SFM_READ, &info);
  if (!sf)
    return SIPLINE_ERR_IO;
  int rc = 0;
  float *in = NULL;
  int16_t *out = NULL;
  if (info.channels < 1 || info.samplerate < 1 || info.frames < 0) {
    rc = SIPLINE_ERR_IO;
    goto done;
  }
  double ratio = (double)info.samplerate / SM_RATE;
  size_t nin = (size_t)info.frames;
  size_t nout = (size_t)((double)nin / ratio);
  if (nout > SM_SRC_MAX_SAMPLES || nin > SM_SRC_MAX_SAMPLES * 24) {
    rc = SIPLINE_ERR_TOOBIG;
    goto done;
  }
  in = malloc((nin ? nin : 1) * (size_t)info.channels * sizeof *in);
  out = malloc((nout ? nout : 1) * sizeof *out);
  if (!in || !out) {
    rc = SIPLINE_ERR_NOMEM;
    goto done;
  }
  sf_count_t got = sf_readf_float(sf, in, (sf_count_t)nin);
  if (got < 0) {
    rc = SIPLINE_ERR_IO;
    goto done;
  }
  nin = (size_t)got;
  /* Mix down in place: sample i of the mono signal into in[i]. */
  for (size_t i = 0; i < nin; i++) {
    float sum = 0;
    for (int c = 0; c < info.channels; c++)
      sum += in[i * (size_t)info.channels + (size_t)c];
    in[i] = sum / (float)info.channels;
  }
  nout = (size_t)((double)nin / ratio);
  for (size_t j = 0; j < nout; j++) {
    double x = (double)j * ratio;
    size_t k = (size_t)x;
    double f = x - (double)k;
    double a = in[k], b = k + 1 < nin ? in[k + 1] : in[k];
    double v = (a + (b - a) * f) * 32767.0;
    out[j] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
  }
  sm_src_free(s);
  s->kind = SM_SRC_FILE;
  s->pcm = out;
  s->len = nout;
  s->loop = loop;
  out = NULL;
done:
  free(in);
  free(out);
  sf_close(sf);
  return rc;
}

void sm_src_read(sm_src *s, int16_t out[SM_FRAME]) {
  switch (s->kind) {
  case SM_SRC_TONE:
    for (int i = 0; i < SM_FRAME; i++) {
      out[i] = (int16_t)lrint(s->amp * sin(s->phase));
      s->phase += s->step;
    }
    /* Keep the phase small so precision does not drift over hours. */
    s->phase = fmod(s->phase, 2 * M_PI);
    return;
  case SM_SRC_FILE:
    for (int i = 0; i < SM_FRAME; i++) {
      if (s->pos >= s->len) {
        if (s->loop && s->len) {
          s->pos = 0;
        } else {
          s->ended = true;
          memset(out + i, 0, sizeof *out * (size_t)(SM_FRAME - i));
          return;
        }
      }
      out[i] = s->pcm[s->pos++];
    }
    return;
  case SM_SRC_SILENCE:
    break;
  }
  memset(out, 0, sizeof *out * SM_FRAME);
}

struct sm_rec {
  SNDFILE *sf;
  uint64_t samples;
};

int sm_rec_open(sm_rec **pr, const char *path) {
  SF_INFO info = {.samplerate = SM_RATE,
                  .channels = 1,
                  .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
  sm_rec *r = calloc(1, sizeof *r);
  if (!r)
    return SIPLINE_ERR_NOMEM;
  r->sf = sf_open(path, SFM_WRITE, &info);
  if (!r->sf) {
    free(r);
    return SIPLINE_ERR_IO;
  }
  *pr = r;
  return 0;
}

int sm_rec_write(sm_rec *r, const int16_t *pcm, size_t n) {
  if (sf_write_short(r->sf, pcm, (sf_count_t)n) != (sf_count_t)n)
    return SIPLINE_ERR_IO;
  r->samples += n;
  return 0;
}

uint64_t sm_rec_samples(const sm_rec *r) {
  return r->samples;
}

void sm_rec_close(sm_rec *r) {
  if (!r)
    return;
  sf_close(r->sf);
  free(r);
}
