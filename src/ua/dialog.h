/*
 * src/ua/dialog.h: RFC 3261 §12 dialogs, owned by the engine.
 *
 * A dialog is the peer-to-peer relationship a call (or any other dialog
 * usage) lives in: its id (Call-ID, local and remote tag), the local and
 * remote CSeq, the local and remote URIs, the remote target and the route
 * set. The engine keeps every dialog in one table and matches each incoming
 * request that carries a To tag against it before any module sees the
 * request (ua.c): a match goes to the dialog's owner through its rx hook
 * (after the §12.2.2 CSeq check), no match gets 481 (an ACK is dropped).
 *
 * Why here and not in src/dlg: the engine must match before the modules, and
 * a layer never calls up into a layer above it. The INVITE session, PRACK,
 * offer/answer, UPDATE and session timers (src/dlg) are built on top.
 *
 * Ownership: the owner (a module object) creates a dialog with
 * sipline__dialog_uac/_uas, which puts it in the table, and frees it with
 * sipline__dialog_del, which takes it out. Every string in the dialog is
 * the dialog's own copy.
 */
#ifndef SIPLINE_UA_DIALOG_H
#define SIPLINE_UA_DIALOG_H

#include "sipline/msg.h"
#include "sipline/net.h"
#include "util/util.h"

typedef struct sipline_ua sipline_ua;
typedef struct sipline__stx sipline__stx;
typedef struct sipline__dialog sipline__dialog;

/*
 * An in-dialog request for the owner. stx is NULL for an ACK (a 2xx ACK has
 * no transaction). Same contract as a module's on_request: return 1 when
 * handled; 0 or a negative error makes the engine answer (500 when nothing
 * was sent and no handler was set).
 */
typedef int (*sipline__dialog_rx)(void *owner, sipline__dialog *d,
                                  sipline__stx *stx, const sipline_msg *req,
                                  const sipline_path *path,
                                  sipline_tstamp now);

/* The most Record-Route entries a dialog keeps (longer sets: TOOBIG). */
#define SIPLINE__DIALOG_MAX_ROUTES 16

struct sipline__dialog {
  sipline__dialog *next; /* the engine's table (a bucket chain) */
  sipline_ua *ua;
  unsigned line;
  uint8_t uac;       /* 1: we sent the dialog-creating request */
  uint8_t confirmed; /* 0: early (§12.1: a 1xx with a To tag) */
  uint8_t rcseq_set; /* rcseq holds a value (a UAC learns it later) */
  char *call_id;
  char *ltag;  /* our tag */
  char *rtag;  /* the peer's tag */
  char *ldisp; /* our display name for From/To ("" for none) */
  char *luri;  /* our URI for From/To */
  char *rdisp; /* the peer's display name ("" for none) */
  char *ruri;  /* the peer's URI */
  char *target; /* the remote target URI (the peer's Contact) */
  char *routes[SIPLINE__DIALOG_MAX_ROUTES]; /* route set, name-addr text */
  unsigned n_routes;
  uint32_t lcseq; /* the last CSeq we sent */
  uint32_t rcseq; /* the last CSeq the peer sent */
  /* The flow the dialog was made on: in-dialog requests use its transport,
   * and go there when the next hop is a name (the core resolves none). */
  sipline_path path;
  sipline__dialog_rx rx;
  void *owner;
};

/* What a UAC knows when a response creates its dialog (§12.1.2). */
typedef struct sipline__dialog_uac_params {
  unsigned line;
  const char *call_id;
  const char *ltag;
  const char *ldisp; /* the From we sent: display name ("" for none) */
  const char *luri;  /* and URI */
  const char *ruri;  /* the To we sent (its URI) */
  uint32_t lcseq;    /* the INVITE's CSeq */
  const sipline_path *path; /* where the INVITE went */
  sipline__dialog_rx rx;
  void *owner;
} sipline__dialog_uac_params;

/*
 * Creates a UAC dialog from a 1xx/2xx with a To tag: remote tag, remote
 * target (Contact), route set (Record-Route, reversed), early when rsp is
 * 1xx. Errors: SIPLINE_ERR_INVAL (no To tag), SIPLINE_ERR_TOOBIG (route set
 * too long), SIPLINE_ERR_EXISTS (that dialog id is taken), NOMEM.
 */
int sipline__dialog_uac(sipline_ua *ua, const sipline__dialog_uac_params *p,
                        const sipline_msg *rsp, sipline__dialog **out);

/*
 * Creates a UAS dialog from a dialog-creating request (§12.1.1): the
 * peer's tag and CSeq, remote target, route set (Record-Route in order),
 * with ltag as our tag and the request's To as our URI. Errors as above.
 */
int sipline__dialog_uas(sipline_ua *ua, unsigned line, const sipline_msg *req,
                        const sipline_path *path, const char *ltag,
                        sipline__dialog **out);

/* Sets the owner's request hook. */
void sipline__dialog_set_rx(sipline__dialog *d, sipline__dialog_rx rx,
                            void *owner);

/* Takes the dialog out of the table and frees it; NULL is accepted. */
void sipline__dialog_del(sipline__dialog *d);

/*
 * §13.2.2.4: a 2xx confirms an early UAC dialog and its route set is
 * recomputed from the 2xx. Also takes the remote target from the Contact.
 */
int sipline__dialog_confirm(sipline__dialog *d, const sipline_msg *rsp);

/* A target refresh (§12.2: re-INVITE, UPDATE and their 2xx): the Contact of
 * msg becomes the remote target. 0, or NOTFOUND when msg has no Contact. */
int sipline__dialog_refresh_target(sipline__dialog *d, const sipline_msg *msg);

/* The dialog of an in-dialog request (Call-ID, To tag = ours, From tag =
 * the peer's), or NULL. */
sipline__dialog *sipline__dialog_find(sipline_ua *ua, const sipline_msg *req);

/* An in-dialog request, for sipline__dialog_build. */
typedef struct sipline__dialog_req {
  sipline_method method;
  uint32_t cseq;   /* 0: a new one (++lcseq); ACK and CANCEL: the INVITE's */
  unsigned flags;  /* SIPLINE__REQ_CONTACT, _ALLOW, _SUPPORTED (ua.h) */
  sipline_pl extra; /* header lines, CRLF each (Session-Expires, RAck) */
  struct sipline_auth_client *auth; /* credentials to answer with, or NULL */
  sipline_pl body; /* an SDP body, or empty */
} sipline__dialog_req;

/*
 * Writes an in-dialog request (§12.2.1.1) with the engine's one request
 * builder (sipline__req_build): the request line (the remote target, or
 * the first route with strict routing), a fresh Via branch, the route set,
 * From/To with the dialog's tags, Call-ID, CSeq, then what r asks for.
 * path gets the next hop (sipline__dialog_next_hop). Returns 0 or NOMEM.
 */
int sipline__dialog_build(sipline__dialog *d, const sipline__dialog_req *r,
                          sipline__buf *b, sipline_path *path);

/*
 * Where in-dialog requests go: the first Route when there is one, else the
 * remote target; an IP literal there is used as it is (its port, or 5060 /
 * 5061 for sips), a name falls back to the flow the dialog was made on.
 */
void sipline__dialog_next_hop(const sipline__dialog *d, sipline_path *path);

/* Dialogs in the table (tests and status). */
size_t sipline__dialog_count(const sipline_ua *ua);

/* The engine's table (ua.c). */
typedef struct sipline__dtab {
  sipline__dialog **b; /* buckets, allocated on the first dialog */
  size_t n_buckets;
  size_t n;
} sipline__dtab;

void sipline__dtab_free(sipline__dtab *t, const sipline_mem *mem);

#endif
