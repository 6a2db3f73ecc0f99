/* src/util/queue.c: a FIFO of owned blobs (outgoing datagrams, events). */
#include <string.h>

#include "util.h"

void sipline__queue_init(sipline__queue *q, const sipline_mem *mem,
                         size_t hdr_size) {
  memset(q, 0, sizeof(*q));
  q->mem = mem;
  q->hdr_size = hdr_size;
}

void sipline__queue_free(sipline__queue *q) {
  sipline__qitem *it = q->head;
  while (it) {
    sipline__qitem *next = it->next;
    sipline_mem_free(q->mem, it);
    it = next;
  }
  q->head = q->tail = NULL;
  q->count = 0;
  sipline_mem_free(q->mem, q->spare);
  q->spare = NULL;
}

int sipline__queue_push(sipline__queue *q, const void *hdr, const void *data,
                        size_t len) {
  if (len > SIZE_MAX - sizeof(sipline__qitem) - q->hdr_size)
    return SIPLINE_ERR_NOMEM;
  size_t need = q->hdr_size + len;
  sipline__qitem *it = q->spare;
  if (it && it->cap >= need) {
    q->spare = NULL;
  } else {
    /* Rounded up so that the next message, a few bytes longer (a CSeq or
     * a nonce count with one more digit), still fits the spare. */
    size_t cap = need <= SIPLINE__QUEUE_SPARE_MAX ? (need + 255) & ~(size_t)255
                                                  : need;
    it = sipline_mem_malloc(q->mem, sizeof(*it) + cap);
    if (!it)
      return SIPLINE_ERR_NOMEM;
    it->cap = cap;
  }
  it->next = NULL;
  it->len = len;
  if (q->hdr_size)
    memcpy(it->data, hdr, q->hdr_size);
  if (len)
    memcpy(it->data + q->hdr_size, data, len);
  if (q->tail)
    q->tail->next = it;
  else
    q->head = it;
  q->tail = it;
  q->count++;
  return 0;
}

sipline__qitem *sipline__queue_pop(sipline__queue *q) {
  sipline__qitem *it = q->head;
  if (!it)
    return NULL;
  q->head = it->next;
  if (!q->head)
    q->tail = NULL;
  q->count--;
  it->next = NULL;
  return it;
}

void sipline__queue_recycle(sipline__queue *q, sipline__qitem *it) {
  if (!it)
    return;
  if (!q->spare && it->cap <= SIPLINE__QUEUE_SPARE_MAX) {
    it->next = NULL;
    q->spare = it;
    return;
  }
  sipline_mem_free(q->mem, it);
}
