/* json_text.h - for the unit tests: a value as compact JSON text (the
 * writer's words in ERROR(...) when it refuses), malloc'd. */
#ifndef OVS_TEST_JSON_TEXT_H
#define OVS_TEST_JSON_TEXT_H

#include "agent/base/buf.h"
#include "agent/base/json.h"

static char *to_json(xmlrpc_value *v)
{
	struct buf b;
	char err[200];

	buf_init(&b, 0);
	if (json_write(&b, v, err, sizeof(err)) < 0)
		buf_printf(&b, "ERROR(%s)", err);
	return buf_steal(&b, NULL);
}

#endif
