/* xen_parse.c - `xl info` text to struct hv_info. */
#include "xen_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR(field) { #field, sizeof(((struct hv_info *)0)->field), offsetof(struct hv_info, field), 's' }
#define INT(field) { #field, 0, offsetof(struct hv_info, field), 'i' }
#define U64(field) { #field, 0, offsetof(struct hv_info, field), 'u' }

static const struct {
	const char *key;
	size_t size, off;
	char kind;
} fields[] = {
	STR(host), STR(release), STR(version), STR(machine), INT(nr_cpus), INT(nr_nodes),
	INT(cores_per_socket), INT(threads_per_core), INT(cpu_mhz), STR(hw_caps),
	STR(virt_caps), U64(total_memory), U64(free_memory), INT(xen_major), INT(xen_minor),
	STR(xen_extra), STR(xen_caps), STR(cc_compiler),
};

void xen_parse_info(const char *text, struct hv_info *info)
{
	const char *line = text;

	while (*line) {
		const char *end = strchr(line, '\n'), *colon;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char key[64], val[512];
		size_t klen, vlen;

		colon = memchr(line, ':', len);
		if (colon) {
			klen = (size_t)(colon - line);
			while (klen && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
				klen--;
			const char *v = colon + 1;
			while (v < line + len && (*v == ' ' || *v == '\t'))
				v++;
			vlen = (size_t)(line + len - v);
			if (klen && klen < sizeof(key) && vlen < sizeof(val)) {
				memcpy(key, line, klen);
				key[klen] = '\0';
				memcpy(val, v, vlen);
				val[vlen] = '\0';
				for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
					char *dst = (char *)info + fields[i].off;
					if (strcmp(key, fields[i].key) != 0)
						continue;
					if (fields[i].kind == 's')
						snprintf(dst, fields[i].size, "%s", val);
					else if (fields[i].kind == 'i')
						*(int *)dst = atoi(val);
					else
						*(uint64_t *)dst = strtoull(val, NULL, 10);
				}
			}
		}
		line += len + (end ? 1 : 0);
	}
}
