/* html.c - escape text for the agent's HTML pages (html.h). */
#include "agent/rpc/html.h"

#include <stdint.h>
#include <string.h>

#include "agent/base/utf8.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

void html_escape(struct buf *out, const char *s)
{
	size_t n = s ? strlen(s) : 0, i = 0, run = 0;

	/* Plain bytes go out in runs: one append per run, not per byte. */
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		size_t len = 1;
		uint32_t cp;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if (c >= 0x80) {
				len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
				/* C1 controls (U+0080-U+009F) are no text either. */
				if (!len || cp < 0xa0) {
					rep = REPLACEMENT;
					len = len ? len : 1;
				}
			} else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
				rep = REPLACEMENT;
			}
		}
		if (!rep) {
			i += len;
			continue;
		}
		buf_append(out, s + run, i - run);
		buf_puts(out, rep);
		i += len;
		run = i;
	}
	buf_append(out, s + run, n - run);
}
