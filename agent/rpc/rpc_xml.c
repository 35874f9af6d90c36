/* rpc_xml.c - see rpc_xml.h. */
#include "agent/rpc/rpc_xml.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/base/buf.h"
#include "agent/rpc/rpc_string.h"

#define PUT(b, lit) buf_append((b), (lit), sizeof(lit) - 1)

void rpc_xml_response_begin(struct buf *b)
{
	PUT(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodResponse>\r\n<params>\r\n"
	       "<param>");
}

void rpc_xml_response_end(struct buf *b) { PUT(b, "</param>\r\n</params>\r\n</methodResponse>\r\n"); }
void rpc_xml_array_begin(struct buf *b) { PUT(b, "<value><array><data>\r\n"); }
void rpc_xml_array_end(struct buf *b) { PUT(b, "</data></array></value>"); }
void rpc_xml_struct_begin(struct buf *b) { PUT(b, "<value><struct>\r\n"); }
void rpc_xml_struct_end(struct buf *b) { PUT(b, "</struct></value>\r\n"); }

/* Bytes that go out as they are, in the common case: printable ASCII but
 * the three XML escapes xmlrpc-c writes. Anything else takes the slow way. */
static bool plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x80 || c == '&' || c == '<' || c == '>')
			return false;
	}
	return true;
}

/* s[0..n) under the reply rule, escaped as xmlrpc-c escapes. */
static void text(struct buf *b, const char *s, size_t n)
{
	char *wire = NULL;
	size_t i, run;

	if (!rpc_text_ok(s, n)) {
		wire = rpc_text_wire(s, n);
		s = wire;
		n = strlen(wire);
	}
	for (i = 0; i < n; i += run) {
		for (run = 0; i + run < n && s[i + run] != '&' && s[i + run] != '<' &&
			      s[i + run] != '>' && s[i + run] != '\r'; run++)
			;
		buf_append(b, s + i, run);
		if (i + run == n)
			break;
		switch (s[i + run]) {
		case '&': PUT(b, "&amp;"); break;
		case '<': PUT(b, "&lt;"); break;
		case '>': PUT(b, "&gt;"); break;
		default: PUT(b, "&#x0d;"); break;
		}
		run++;
	}
	free(wire);
}

#define M_OPEN "<member><name>"
#define M_MID "</name>\r\n<value><string>"
#define M_CLOSE "</string></value></member>\r\n"

void rpc_xml_member(struct buf *b, const char *key, size_t klen, const char *val, size_t vlen)
{
	size_t n = sizeof(M_OPEN) - 1 + klen + sizeof(M_MID) - 1 + vlen + sizeof(M_CLOSE) - 1;
	char *p;

	/* Thousands of these per list_vms: one bounds check, then copies. */
	if (plain(key, klen) && plain(val, vlen)) {
		if (!(p = buf_space(b, n)))
			return;
		memcpy(p, M_OPEN, sizeof(M_OPEN) - 1);
		p += sizeof(M_OPEN) - 1;
		memcpy(p, key, klen);
		p += klen;
		memcpy(p, M_MID, sizeof(M_MID) - 1);
		p += sizeof(M_MID) - 1;
		memcpy(p, val, vlen);
		p += vlen;
		memcpy(p, M_CLOSE, sizeof(M_CLOSE) - 1);
		buf_commit(b, n);
		return;
	}
	PUT(b, M_OPEN);
	text(b, key, klen);
	PUT(b, M_MID);
	text(b, val, vlen);
	PUT(b, M_CLOSE);
}
