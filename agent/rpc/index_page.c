/* index_page.c - GET /: links to /status and /metrics, then the method list
 * as HTML. */
#include "agent/rpc/index_page.h"

#include <string.h>

#include "agent/rpc/html.h"
#include "agent/server/config.h"
#include "agent/rpc/rpc.h"
#include "agent/server/server.h"
#include "agent/server/version.h"

void signature_describe(struct buf *out, const char *name, const char *sig, const char *sep)
{
	for (const char *alt = sig; *alt;) {
		const char *colon = strchr(alt, ':'), *end = strchr(alt, ',');
		if (!end)
			end = alt + strlen(alt);
		if (alt != sig)
			buf_puts(out, sep);
		buf_printf(out, "%s %s(", rpc_type_name(alt[0]), name);
		for (const char *p = colon + 1; p < end; p++)
			buf_printf(out, "%s%s", p == colon + 1 ? "" : ", ", rpc_type_name(*p));
		buf_puts(out, ")");
		alt = *end ? end + 1 : end;
	}
}

void index_page_write(struct server *srv, struct buf *out)
{
	struct buf sig;

	buf_puts(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		      "<title>Oracle VM Agent ");
	html_escape(out, agent_version);
	buf_puts(out, "</title><style>body{font-family:sans-serif;margin:2em}"
		      "dt{font-family:monospace;font-weight:bold;margin-top:1em}"
		      "dd{margin-left:2em}code{color:#333;white-space:pre}</style></head><body>\n"
		      "<h1>Oracle VM Agent ");
	html_escape(out, agent_version);
	buf_puts(out, "</h1>\n<p><a href=\"/status\">Status</a> (the host at a glance) &middot; "
		      "<a href=\"/metrics\">Metrics</a> (Prometheus)</p>\n"
		      "<p>XML-RPC over POST /RPC2; hypervisor backend: ");
	html_escape(out, config_hv_name(srv->cfg.hypervisor));
	buf_puts(out, ".</p>\n<dl>\n");
	for (const struct method *m = method_table; m->name; m++) {
		buf_init(&sig, 0);
		signature_describe(&sig, m->name, m->signature, "\n");
		buf_puts(out, "<dt id=\"");
		html_escape(out, m->name);
		buf_puts(out, "\">");
		html_escape(out, m->name);
		buf_puts(out, "</dt>\n<dd><code>");
		html_escape(out, sig.data ? sig.data : "");
		buf_puts(out, "</code><br>");
		html_escape(out, m->help);
		buf_puts(out, "</dd>\n");
		buf_free(&sig);
	}
	buf_puts(out, "</dl>\n</body></html>\n");
}
