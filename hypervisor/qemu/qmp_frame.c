/* qmp_frame.c - QEMU's QMP byte stream cut into messages. */
#include "hypervisor/qemu/qmp_frame.h"

#include <stdio.h>
#include <string.h>

/* ==== framing ============================================================= */

void qmp_framer_init(struct qmp_framer *f, size_t max_message)
{
	memset(f, 0, sizeof(*f));
	f->max = max_message;
	buf_init(&f->in, max_message + QMP_FRAMER_SLACK);
}

void qmp_framer_free(struct qmp_framer *f)
{
	buf_free(&f->in);
}

/* One byte inside a message; returns 1 when it closed the message, -1 when
 * nested too deep. */
static int frame_byte(struct qmp_framer *f, char c)
{
	if (f->in_str) {
		if (f->esc)
			f->esc = false;
		else if (c == '\\')
			f->esc = true;
		else if (c == '"')
			f->in_str = false;
		return 0;
	}
	if (c == '"') {
		f->in_str = true;
	} else if (c == '{' || c == '[') {
		if (++f->depth > JSON_MAX_DEPTH)
			return -1;
	} else if (c == '}' || c == ']') {
		if (--f->depth == 0)
			return 1;
	}
	return 0;
}

int qmp_framer_next(struct qmp_framer *f, const char **msg, size_t *len, char *err, size_t errlen)
{
	const char *d = f->in.data;
	size_t drop;

	while (f->pos < f->in.len) {
		char c = d[f->pos];
		int r;

		if (f->depth == 0) {
			if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '{') {
				snprintf(err, errlen, "byte 0x%02x outside a JSON object",
					 (unsigned char)c);
				return -1;
			}
			if (c == '{') {
				f->start = f->pos;
				f->depth = 1;
			}
			f->pos++;
			continue;
		}
		if (f->pos - f->start >= f->max) {
			snprintf(err, errlen, "message longer than %zu bytes", f->max);
			return -1;
		}
		r = frame_byte(f, c);
		f->pos++;
		if (r < 0) {
			snprintf(err, errlen, "message nested deeper than %d", JSON_MAX_DEPTH);
			return -1;
		}
		if (r > 0) {
			*msg = d + f->start;
			*len = f->pos - f->start;
			return 1;
		}
	}
	/* Compact once per batch, not per message: a read full of small
	 * events must not cost a memmove each. */
	drop = f->depth > 0 ? f->start : f->pos;
	buf_consume(&f->in, drop);
	f->pos -= drop;
	f->start = 0;
	return 0;
}
