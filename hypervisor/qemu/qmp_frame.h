/* qmp_frame.h - QEMU's QMP byte stream cut into messages. */
#ifndef OVS_QMP_FRAME_H
#define OVS_QMP_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/base/buf.h"
#include "agent/base/json.h"

/* Splits QEMU's byte stream into messages: each is one top-level JSON
 * object, found by counting brackets outside strings, so it does not rely
 * on QEMU's CRLF (and copes with pretty=on). Whitespace between messages is
 * skipped; anything else outside an object is an error. */
struct qmp_framer {
	struct buf in;   /* received, not yet consumed; bounded */
	size_t pos;      /* scanned up to here */
	size_t start;    /* where the message being scanned starts */
	size_t max;      /* longest message */
	int depth;       /* 0 between messages */
	bool in_str, esc;
};

/* f->in holds up to max_message + QMP_FRAMER_SLACK bytes: append at most
 * QMP_FRAMER_SLACK after qmp_framer_next() returned 0. */
#define QMP_FRAMER_SLACK 65536
void qmp_framer_init(struct qmp_framer *f, size_t max_message);
void qmp_framer_free(struct qmp_framer *f);
/* After appending bytes to f->in: returns 1 and
 * the next complete message in *msg and *len (inside f->in, valid until the
 * next call or append), 0 when more bytes are needed, -1 with a message in
 * err when the stream cannot be framed (too long, too deep, junk between
 * messages); the framer is then unusable. */
int qmp_framer_next(struct qmp_framer *f, const char **msg, size_t *len, char *err,
		    size_t errlen);

#endif
