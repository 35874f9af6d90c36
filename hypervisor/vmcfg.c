/* vmcfg.c - parse, query, edit and write back Xen's vm.cfg.
 *
 * The file is kept as a list of entries over one private copy of the text:
 * runs of comment/blank lines, and assignments with their source span. An
 * entry is copied verbatim on output unless a setter marked it dirty, so
 * whatever the administrator wrote survives a rewrite. */
#include "hypervisor/vmcfg.h"
#include "agent/base/buf.h"
#include "agent/base/file_replace.h"
#include "agent/base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const vmcfg_known_keys[] = {
	"name", "uuid", "memory", "maxmem", "vcpus", "builder", "kernel", "ramdisk",
	"bootloader", "disk", "vif", "vfb", "vnc", "vncunused", "vnclisten",
	"vncpasswd", "vncviewer", "vncconsole", "on_poweroff", "on_reboot",
	"on_crash", "boot", "acpi", "apic", "pae", "localtime", "serial", "keymap",
	"disk_other_config", "vif_other_config", "device_model", "extra", "root",
	"sdl", "usb", "usbdevice", "timer_mode", "cdrom", "ne2000", NULL,
};

/* xm executes the file, so a keyword on the left of '=' is a syntax error
 * there; catching it here also explains stray Python code in the file. */
static const char *const python_keywords[] = {
	"and", "as", "assert", "async", "await", "break", "class", "continue",
	"def", "del", "elif", "else", "except", "exec", "finally", "for", "from",
	"global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
	"pass", "print", "raise", "return", "try", "while", "with", "yield",
	"True", "False", "None",
};

struct entry {
	char *key;             /* NULL: a run of comment and blank lines */
	size_t start, end;     /* the entry's whole lines in c->src */
	size_t tail;           /* where the text after the value starts */
	unsigned line;         /* first source line; 0 for a key added since */
	bool dirty;            /* render canonically instead of copying */
	struct vmcfg_value val;
};

struct vmcfg {
	char *src;
	size_t src_len;
	struct entry *e;
	size_t n, cap;
	size_t nkeys;
};

struct parser {
	const char *name;
	const char *s;
	size_t len, pos;
	unsigned line;
	const char *key;       /* the assignment being read, for messages */
	char *err;
	size_t errlen;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- values -------------------------------------------------------- */

static void value_free(struct vmcfg_value *v)
{
	for (size_t i = 0; i < v->n; i++)
		value_free(&v->items[i]);
	free(v->items);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

/* Callers build values by hand; refuse anything the renderer could not
 * write back as something that parses to the same value. */
static bool value_valid(const struct vmcfg_value *v, int depth)
{
	switch (v->type) {
	case VMCFG_STR:
		return v->str != NULL;
	case VMCFG_INT:
	case VMCFG_BOOL:
	case VMCFG_NONE:
		return true;
	case VMCFG_FLOAT:
		return isfinite(v->real);
	case VMCFG_LIST:
		if (depth >= VMCFG_MAX_DEPTH || (v->n && !v->items))
			return false;
		for (size_t i = 0; i < v->n; i++)
			if (!value_valid(&v->items[i], depth + 1))
				return false;
		return true;
	}
	return false;
}

static void value_copy(struct vmcfg_value *dst, const struct vmcfg_value *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->type = src->type;
	switch (src->type) {
	case VMCFG_STR:
		dst->str = xstrdup(src->str);
		break;
	case VMCFG_INT:
		dst->num = src->num;
		break;
	case VMCFG_BOOL:
		dst->num = src->num != 0;
		break;
	case VMCFG_FLOAT:
		dst->real = src->real;
		break;
	case VMCFG_NONE:
		break;
	case VMCFG_LIST:
		dst->n = src->n;
		dst->items = src->n ? xcalloc(src->n, sizeof(*dst->items)) : NULL;
		for (size_t i = 0; i < src->n; i++)
			value_copy(&dst->items[i], &src->items[i]);
		break;
	}
}

/* ---- character classes (not <ctype.h>: the locale must not matter) --- */

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_ident_start(int c) { return is_alpha(c) || c == '_'; }
static bool is_ident(int c) { return is_ident_start(c) || is_digit(c); }
static bool is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_python_keyword(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(python_keywords); i++)
		if (strlen(python_keywords[i]) == n && memcmp(python_keywords[i], s, n) == 0)
			return true;
	return false;
}

static bool valid_key(const char *key)
{
	size_t n;

	if (!key || !is_ident_start((unsigned char)key[0]))
		return false;
	for (n = 1; key[n]; n++)
		if (!is_ident((unsigned char)key[n]))
			return false;
	return !is_python_keyword(key, n);
}

/* ---- parser primitives --------------------------------------------- */

static int perr(struct parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(p->err, p->errlen, "%s:%u: %s", p->name, line, msg);
	return -1;
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static bool at_eol(const struct parser *p)
{
	return p->pos >= p->len || p->s[p->pos] == '\n';
}

/* '\r' only ever precedes '\n' here (vmcfg_parse refuses the rest), so
 * treating it as a space makes CRLF files work. */
static void skip_hspace(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\f' && c != '\r')
			break;
		p->pos++;
	}
}

static void skip_comment(struct parser *p)
{
	if (peek(p) != '#')
		return;
	while (!at_eol(p))
		p->pos++;
}

static void next_line(struct parser *p)
{
	if (p->pos < p->len) {
		p->pos++;
		p->line++;
	}
}

/* Inside brackets Python joins lines, so newlines and comments are gaps. */
static void skip_gap(struct parser *p)
{
	for (;;) {
		skip_hspace(p);
		skip_comment(p);
		if (peek(p) != '\n')
			return;
		next_line(p);
	}
}

/* The word at pos, printable and bounded, for a message. */
static void token_at(const struct parser *p, char *out, size_t outlen)
{
	size_t end = p->pos;

	while (end < p->len && !strchr(" \t\f\r\n,]#", p->s[end]))
		end++;
	if (end == p->pos && end < p->len && p->s[end] != '\n')
		end++;
	quote_printable(out, outlen, p->s + p->pos, end - p->pos);
}

/* The rest of the line at pos, for a message. */
static void rest_at(const struct parser *p, char *out, size_t outlen)
{
	size_t end = p->pos;

	while (end < p->len && p->s[end] != '\n' && p->s[end] != '\r')
		end++;
	quote_printable(out, outlen, p->s + p->pos, end - p->pos);
}

/* ---- values -------------------------------------------------------- */

static int parse_value(struct parser *p, struct vmcfg_value *v, int depth);

static int bad_value(struct parser *p)
{
	char tok[80];

	token_at(p, tok, sizeof(tok));
	if (is_ident_start(peek(p)) || is_digit(peek(p)))
		return perr(p, p->line, "value of '%s' is not a quoted string, number, "
			    "True, False, None or list: %s (strings need quotes: '%s')",
			    p->key, tok, tok);
	return perr(p, p->line, "value of '%s' is not a quoted string, number, "
		    "True, False, None or list: %s", p->key, tok);
}

static int string_escape(struct parser *p, char *out)
{
	char c = p->pos + 1 < p->len ? p->s[p->pos + 1] : '\n';
	char shown[8];

	switch (c) {
	case 'n': *out = '\n'; return 0;
	case 't': *out = '\t'; return 0;
	case 'r': *out = '\r'; return 0;
	case '\\': case '\'': case '"': *out = c; return 0;
	case '\n': case '\r':
		return perr(p, p->line, "string in '%s' ends with a backslash; "
			    "continuation lines are not supported", p->key);
	}
	quote_printable(shown, sizeof(shown), &c, 1);
	return perr(p, p->line, "unsupported escape '\\%s' in the string of '%s' "
		    "(known: \\\\ \\' \\\" \\n \\t \\r)", shown, p->key);
}

static int parse_string(struct parser *p, struct vmcfg_value *v)
{
	char q = p->s[p->pos], c;
	struct buf b;
	int ret = -1;

	buf_init(&b, 0);
	if (p->pos + 2 < p->len && p->s[p->pos + 1] == q && p->s[p->pos + 2] == q) {
		perr(p, p->line, "triple-quoted strings are not supported (value of '%s')",
		     p->key);
		goto out;
	}
	for (p->pos++;; p->pos++) {
		if (at_eol(p) || p->s[p->pos] == '\r') {
			perr(p, p->line, "unterminated string in the value of '%s': "
			     "no closing %c on this line", p->key, q);
			goto out;
		}
		c = p->s[p->pos];
		if (c == q)
			break;
		if (c == '\\') {
			if (string_escape(p, &c) < 0)
				goto out;
			p->pos++;
		}
		buf_append(&b, &c, 1);
	}
	p->pos++;
	v->type = VMCFG_STR;
	v->str = buf_steal(&b, NULL);
	ret = 0;
out:
	buf_free(&b);
	return ret;
}

static size_t skip_digits(struct parser *p)
{
	size_t n = 0;

	while (is_digit(peek(p))) {
		p->pos++;
		n++;
	}
	return n;
}

/* Scan [+-]digits[.digits][e[+-]digits]; *is_float says whether the
 * fraction or exponent appeared. -1 when it is not a number at all. */
static int scan_number(struct parser *p, bool *is_float)
{
	size_t whole, frac = 0;

	if (peek(p) == '+' || peek(p) == '-')
		p->pos++;
	whole = skip_digits(p);
	*is_float = false;
	if (peek(p) == '.') {
		p->pos++;
		frac = skip_digits(p);
		*is_float = true;
	}
	if (whole + frac == 0)
		return -1;
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (skip_digits(p) == 0)
			return -1;
		*is_float = true;
	}
	/* "0.0.0.0", "0x10", "10Mb": a bare word, not a number */
	if (is_ident(peek(p)) || peek(p) == '.' || peek(p) == '\'' || peek(p) == '"')
		return -1;
	return 0;
}

static int number_value(struct parser *p, const char *text, bool is_float,
			struct vmcfg_value *v)
{
	const char *digits = text + (text[0] == '+' || text[0] == '-');

	errno = 0;
	if (is_float) {
		v->real = strtod(text, NULL);
		if (!isfinite(v->real))
			return perr(p, p->line, "number %s for '%s' is out of range", text, p->key);
		v->type = VMCFG_FLOAT;
		return 0;
	}
	if (digits[0] == '0' && digits[1])
		return perr(p, p->line, "integer %s for '%s' has a leading zero "
			    "(Python 2 reads it as octal); leave the zero out", text, p->key);
	v->num = strtoll(text, NULL, 10);
	if (errno == ERANGE)
		return perr(p, p->line, "integer %s for '%s' is out of range", text, p->key);
	v->type = VMCFG_INT;
	return 0;
}

static int parse_number(struct parser *p, struct vmcfg_value *v)
{
	size_t start = p->pos;
	bool is_float;
	char *text;
	int ret;

	if (scan_number(p, &is_float) < 0) {
		p->pos = start;
		return bad_value(p);
	}
	text = xstrndup(p->s + start, p->pos - start);
	ret = number_value(p, text, is_float, v);
	free(text);
	return ret;
}

static int parse_word(struct parser *p, struct vmcfg_value *v)
{
	size_t start = p->pos, n;
	const char *w = p->s + start;

	while (is_ident(peek(p)))
		p->pos++;
	n = p->pos - start;
	if (n == 4 && memcmp(w, "True", 4) == 0) {
		v->type = VMCFG_BOOL;
		v->num = 1;
	} else if (n == 5 && memcmp(w, "False", 5) == 0) {
		v->type = VMCFG_BOOL;
		v->num = 0;
	} else if (n == 4 && memcmp(w, "None", 4) == 0) {
		v->type = VMCFG_NONE;
	} else {
		p->pos = start;
		return bad_value(p);
	}
	if (peek(p) == '\'' || peek(p) == '"') { /* u'x', r'x' */
		p->pos = start;
		return bad_value(p);
	}
	return 0;
}

/* After an item: ',' or ']' (1 when the list ended), else an error. */
static int list_separator(struct parser *p, unsigned open)
{
	char tok[80];

	skip_gap(p);
	if (peek(p) == ',') {
		p->pos++;
		return 0;
	}
	if (peek(p) == ']') {
		p->pos++;
		return 1;
	}
	if (p->pos >= p->len)
		return perr(p, open, "the list of '%s' opened here is never closed", p->key);
	token_at(p, tok, sizeof(tok));
	return perr(p, p->line, "expected ',' or ']' in the list of '%s', found %s",
		    p->key, tok);
}

static int parse_list(struct parser *p, struct vmcfg_value *v, int depth)
{
	unsigned open = p->line;
	size_t cap = 0;
	int r;

	if (depth >= VMCFG_MAX_DEPTH)
		return perr(p, p->line, "lists in '%s' are nested more than %d deep",
			    p->key, VMCFG_MAX_DEPTH);
	v->type = VMCFG_LIST;
	p->pos++;
	for (;;) {
		skip_gap(p);
		if (p->pos >= p->len)
			return perr(p, open, "the list of '%s' opened here is never closed", p->key);
		if (peek(p) == ']') {
			p->pos++;
			return 0;
		}
		if (peek(p) == ',')
			return perr(p, p->line, "empty item (two commas) in the list of '%s'", p->key);
		if (v->n == cap) {
			cap = cap ? cap * 2 : 4;
			v->items = xrealloc(v->items, cap * sizeof(*v->items));
		}
		/* Counted before it is filled, so a failure frees it too. */
		memset(&v->items[v->n], 0, sizeof(*v->items));
		if (parse_value(p, &v->items[v->n++], depth + 1) < 0)
			return -1;
		r = list_separator(p, open);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
}

static int parse_value(struct parser *p, struct vmcfg_value *v, int depth)
{
	int c = peek(p);

	switch (c) {
	case '\'':
	case '"':
		return parse_string(p, v);
	case '[':
		return parse_list(p, v, depth);
	case '(':
		return perr(p, p->line, "tuples ( ... ) are not supported in '%s'; "
			    "use a list [ ... ]", p->key);
	case '{':
		return perr(p, p->line, "dictionaries { ... } are not supported in '%s'", p->key);
	}
	if (is_digit(c) || c == '-' || c == '+' || c == '.')
		return parse_number(p, v);
	if (is_ident_start(c))
		return parse_word(p, v);
	return bad_value(p);
}

/* ---- entries ------------------------------------------------------- */

static struct entry *find(const struct vmcfg *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].key && strcmp(c->e[i].key, key) == 0)
			return &c->e[i];
	return NULL;
}

static struct entry *push_entry(struct vmcfg *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
	}
	memset(&c->e[c->n], 0, sizeof(*c->e));
	return &c->e[c->n++];
}

static void add_verbatim(struct vmcfg *c, size_t start, size_t end)
{
	struct entry *e;

	if (c->n && !c->e[c->n - 1].key && c->e[c->n - 1].end == start) {
		c->e[c->n - 1].end = end;
		return;
	}
	e = push_entry(c);
	e->start = start;
	e->end = end;
}

/* ---- assignments --------------------------------------------------- */

static int parse_key(struct parser *p, char **key)
{
	size_t start = p->pos;
	char tok[80];

	if (!is_ident_start(peek(p))) {
		rest_at(p, tok, sizeof(tok));
		return perr(p, p->line, "expected 'key = value', found: %s", tok);
	}
	while (is_ident(peek(p)))
		p->pos++;
	if (is_python_keyword(p->s + start, p->pos - start)) {
		p->pos = start;
		rest_at(p, tok, sizeof(tok));
		return perr(p, p->line, "Python statements are not supported, only "
			    "'key = value' lines: %s", tok);
	}
	*key = xstrndup(p->s + start, p->pos - start);
	return 0;
}

static int check_new_key(struct parser *p, const struct vmcfg *c, const char *key,
			 unsigned line)
{
	const struct entry *old = find(c, key);

	if (old)
		return perr(p, line, "key '%s' repeated (first at line %u)", key, old->line);
	if (c->nkeys >= VMCFG_MAX_KEYS)
		return perr(p, line, "more than %d keys", VMCFG_MAX_KEYS);
	return 0;
}

/* "= value" after the key; leaves pos after the value. */
static int parse_rhs(struct parser *p, struct vmcfg_value *v)
{
	char tok[80];

	skip_hspace(p);
	if (peek(p) != '=') {
		token_at(p, tok, sizeof(tok));
		return perr(p, p->line, "expected '=' after '%s', found %s", p->key,
			    at_eol(p) ? "end of line" : tok);
	}
	p->pos++;
	skip_hspace(p);
	if (at_eol(p) || peek(p) == '#')
		return perr(p, p->line, "missing value after '%s ='", p->key);
	return parse_value(p, v, 0);
}

/* Only a comment may follow the value on its line. */
static int parse_end(struct parser *p)
{
	char rest[80];

	skip_hspace(p);
	skip_comment(p);
	if (at_eol(p)) {
		next_line(p);
		return 0;
	}
	rest_at(p, rest, sizeof(rest));
	return perr(p, p->line, "unexpected text after the value of '%s': %s "
		    "(one value per line; expressions are not supported)", p->key, rest);
}

static int parse_assignment(struct parser *p, struct vmcfg *c, size_t start)
{
	struct entry e = { .start = start, .line = p->line };
	int ret = -1;

	if (parse_key(p, &e.key) < 0)
		goto out;
	p->key = e.key;
	if (parse_rhs(p, &e.val) < 0)
		goto out;
	e.tail = p->pos;
	if (parse_end(p) < 0 || check_new_key(p, c, e.key, e.line) < 0)
		goto out;
	e.end = p->pos;
	*push_entry(c) = e;
	c->nkeys++;
	memset(&e, 0, sizeof(e)); /* now owned by c */
	ret = 0;
out:
	p->key = NULL;
	free(e.key);
	value_free(&e.val);
	return ret;
}

static int parse_lines(struct parser *p, struct vmcfg *c)
{
	while (p->pos < p->len) {
		size_t start = p->pos;

		skip_hspace(p);
		skip_comment(p);
		if (at_eol(p)) {
			next_line(p);
			add_verbatim(c, start, p->pos);
			continue;
		}
		if (p->pos != start)
			return perr(p, p->line, "indented line; xm reads vm.cfg as Python, "
				    "so 'key = value' must start in the first column");
		if (parse_assignment(p, c, start) < 0)
			return -1;
	}
	return 0;
}

/* Bytes the grammar never allows anywhere, found before parsing so the
 * parser need not worry about them. A lone '\r' is a line break to
 * Python, so accepting it would make us disagree with xm about lines. */
static int check_bytes(struct parser *p)
{
	unsigned line = 1;

	for (size_t i = 0; i < p->len; i++) {
		char c = p->s[i];
		if (c == '\n')
			line++;
		else if (c == '\0')
			return perr(p, line, "NUL byte; vm.cfg must be text");
		else if (c == '\r' && (i + 1 == p->len || p->s[i + 1] != '\n'))
			return perr(p, line, "carriage return not followed by a newline");
	}
	return 0;
}

int vmcfg_parse(const char *name, const char *text, size_t len, struct vmcfg **out,
		char *err, size_t errlen)
{
	struct parser p = { .name = name, .s = text, .len = len, .line = 1,
			    .err = err, .errlen = errlen };
	struct vmcfg *c = NULL;
	int ret = -1;

	*out = NULL;
	if (len > VMCFG_MAX_SIZE) {
		seterr(err, errlen, "%s: larger than %d bytes", name, VMCFG_MAX_SIZE);
		goto out;
	}
	if (check_bytes(&p) < 0)
		goto out;
	c = xcalloc(1, sizeof(*c));
	c->src = xmalloc(len + 1);
	if (len)
		memcpy(c->src, text, len);
	c->src[len] = '\0';
	c->src_len = len;
	p.s = c->src;
	if (parse_lines(&p, c) < 0)
		goto out;
	*out = c;
	c = NULL;
	ret = 0;
out:
	vmcfg_free(c);
	return ret;
}

void vmcfg_free(struct vmcfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].key);
		value_free(&c->e[i].val);
	}
	free(c->e);
	free(c->src);
	free(c);
}

/* ---- output -------------------------------------------------------- */

static void render_string(struct buf *b, const char *s)
{
	buf_puts(b, "'");
	for (; *s; s++) {
		switch (*s) {
		case '\\': buf_puts(b, "\\\\"); break;
		case '\'': buf_puts(b, "\\'"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\r': buf_puts(b, "\\r"); break;
		default: buf_append(b, s, 1); break;
		}
	}
	buf_puts(b, "'");
}

/* The shortest text that reads back as the same double, as Python's repr,
 * with ".0" added where it would otherwise read back as an int. */
static void render_float(struct buf *b, double d)
{
	char text[64];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(text, sizeof(text), "%.*g", prec, d);
		if (strtod(text, NULL) == d)
			break;
	}
	if (!strpbrk(text, ".e"))
		strcat(text, ".0");
	buf_puts(b, text);
}

static void render_value(struct buf *b, const struct vmcfg_value *v)
{
	switch (v->type) {
	case VMCFG_STR:
		render_string(b, v->str);
		break;
	case VMCFG_INT:
		buf_printf(b, "%lld", v->num);
		break;
	case VMCFG_FLOAT:
		render_float(b, v->real);
		break;
	case VMCFG_BOOL:
		buf_puts(b, v->num ? "True" : "False");
		break;
	case VMCFG_NONE:
		buf_puts(b, "None");
		break;
	case VMCFG_LIST:
		buf_puts(b, "[");
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				buf_puts(b, ", ");
			render_value(b, &v->items[i]);
		}
		buf_puts(b, "]");
		break;
	}
}

static void render_entry(struct buf *b, const struct vmcfg *c, const struct entry *e)
{
	if (!e->key || !e->dirty) {
		buf_append(b, c->src + e->start, e->end - e->start);
		return;
	}
	/* A new key after a last line without a newline needs one first. */
	if (!e->line && b->len && b->data[b->len - 1] != '\n')
		buf_puts(b, "\n");
	buf_printf(b, "%s = ", e->key);
	render_value(b, &e->val);
	/* The old trailing comment and line ending stay. */
	if (e->line)
		buf_append(b, c->src + e->tail, e->end - e->tail);
	else
		buf_puts(b, "\n");
}

char *vmcfg_format(const struct vmcfg *c, size_t *len)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < c->n; i++)
		render_entry(&b, c, &c->e[i]);
	return buf_steal(&b, len);
}

/* ---- queries ------------------------------------------------------- */

size_t vmcfg_count(const struct vmcfg *c)
{
	return c->nkeys;
}

const char *vmcfg_key(const struct vmcfg *c, size_t i)
{
	for (size_t k = 0; k < c->n; k++)
		if (c->e[k].key && i-- == 0)
			return c->e[k].key;
	return NULL;
}

unsigned vmcfg_line(const struct vmcfg *c, const char *key)
{
	const struct entry *e = find(c, key);

	return e ? e->line : 0;
}

bool vmcfg_has(const struct vmcfg *c, const char *key)
{
	return find(c, key) != NULL;
}

const struct vmcfg_value *vmcfg_get(const struct vmcfg *c, const char *key)
{
	const struct entry *e = find(c, key);

	return e ? &e->val : NULL;
}

const char *vmcfg_get_str(const struct vmcfg *c, const char *key)
{
	const struct vmcfg_value *v = vmcfg_get(c, key);

	return v && v->type == VMCFG_STR ? v->str : NULL;
}

/* Strict decimal: what int() would take from the guide's memory = "512",
 * without the surrounding spaces nobody writes. */
static int decimal(const char *s, long long *out)
{
	const char *d = s + (*s == '+' || *s == '-');
	char *end;

	if (!is_digit((unsigned char)*d))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == ERANGE || *end ? -1 : 0;
}

int vmcfg_get_int(const struct vmcfg *c, const char *key, long long *out)
{
	const struct vmcfg_value *v = vmcfg_get(c, key);

	if (!v)
		return -1;
	if (v->type == VMCFG_INT) {
		*out = v->num;
		return 0;
	}
	if (v->type == VMCFG_STR && decimal(v->str, out) == 0)
		return 0;
	return -2;
}

size_t vmcfg_list_len(const struct vmcfg *c, const char *key)
{
	const struct vmcfg_value *v = vmcfg_get(c, key);

	return v && v->type == VMCFG_LIST ? v->n : 0;
}

const char *vmcfg_list_str(const struct vmcfg *c, const char *key, size_t i)
{
	const struct vmcfg_value *v = vmcfg_get(c, key);

	if (!v || v->type != VMCFG_LIST || i >= v->n || v->items[i].type != VMCFG_STR)
		return NULL;
	return v->items[i].str;
}

/* ---- edits --------------------------------------------------------- */

/* The entry whose value the caller is about to replace: the old one,
 * emptied and marked dirty, or a new one at the end. */
static struct entry *slot_for(struct vmcfg *c, const char *key)
{
	struct entry *e;

	if (!valid_key(key))
		return NULL;
	e = find(c, key);
	if (e) {
		value_free(&e->val);
		e->dirty = true;
		return e;
	}
	if (c->nkeys >= VMCFG_MAX_KEYS)
		return NULL;
	e = push_entry(c);
	e->key = xstrdup(key);
	e->dirty = true;
	c->nkeys++;
	return e;
}

int vmcfg_set_value(struct vmcfg *c, const char *key, const struct vmcfg_value *v)
{
	struct vmcfg_value copy;
	struct entry *e;

	if (!v || !value_valid(v, 0))
		return -1;
	/* Copy first: v may point into the value being replaced. */
	value_copy(&copy, v);
	e = slot_for(c, key);
	if (!e) {
		value_free(&copy);
		return -1;
	}
	e->val = copy;
	return 0;
}

int vmcfg_set_str(struct vmcfg *c, const char *key, const char *value)
{
	struct vmcfg_value v = { .type = VMCFG_STR, .str = (char *)value };

	return vmcfg_set_value(c, key, &v);
}

int vmcfg_set_int(struct vmcfg *c, const char *key, long long value)
{
	struct vmcfg_value v = { .type = VMCFG_INT, .num = value };

	return vmcfg_set_value(c, key, &v);
}

int vmcfg_set_list(struct vmcfg *c, const char *key, const char *const *items, size_t n)
{
	struct vmcfg_value v = { .type = VMCFG_LIST, .n = n };
	int ret;

	if (n && !items)
		return -1;
	v.items = n ? xcalloc(n, sizeof(*v.items)) : NULL;
	for (size_t i = 0; i < n; i++) {
		v.items[i].type = VMCFG_STR;
		v.items[i].str = (char *)items[i];
	}
	ret = vmcfg_set_value(c, key, &v);
	free(v.items); /* the strings are the caller's */
	return ret;
}

int vmcfg_touch(struct vmcfg *c, const char *key)
{
	struct entry *e = find(c, key);

	if (!e)
		return -1;
	e->dirty = true;
	return 0;
}

int vmcfg_del(struct vmcfg *c, const char *key)
{
	struct entry *e = find(c, key);
	size_t i;

	if (!e)
		return -1;
	i = (size_t)(e - c->e);
	free(e->key);
	value_free(&e->val);
	memmove(&c->e[i], &c->e[i + 1], (c->n - i - 1) * sizeof(*c->e));
	c->n--;
	c->nkeys--;
	return 0;
}

/* ---- files --------------------------------------------------------- */

static int read_fd(int fd, const char *path, char **data, size_t *len, char *err,
		   size_t errlen)
{
	size_t cap = VMCFG_MAX_SIZE + 1, n = 0;
	char *p = xmalloc(cap);
	ssize_t r;

	/* One byte more than allowed, to tell "exactly the limit" from "more". */
	while (n < cap && (r = read(fd, p + n, cap - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			free(p);
			return -1;
		}
		n += (size_t)r;
	}
	*data = p;
	*len = n;
	return 0;
}

int vmcfg_load(const char *path, struct vmcfg **out, char *err, size_t errlen)
{
	/* Never block the agent on a FIFO, nor open a device behind a link. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	char *data = NULL;
	struct stat st;
	size_t len;
	int ret = -1;

	*out = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (read_fd(fd, path, &data, &len, err, errlen) < 0)
		goto out;
	ret = vmcfg_parse(path, data, len, out, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	free(data);
	return ret;
}

int vmcfg_save(const struct vmcfg *c, const char *path, char *err, size_t errlen)
{
	size_t len;
	char *text = vmcfg_format(c, &len);
	int ret = -1;

	/* Writing what vmcfg_load would refuse would lock the agent out. */
	if (len > VMCFG_MAX_SIZE) {
		seterr(err, errlen, "%s: would be larger than %d bytes", path, VMCFG_MAX_SIZE);
		goto out;
	}
	ret = file_replace(path, text, len, -1, err, errlen);
out:
	free(text);
	return ret;
}

/* ---- disk items ---------------------------------------------------- */

/* Narrow s[0..*n) to its part without surrounding blanks. */
static const char *trim(const char *s, size_t *n)
{
	while (*n && (*s == ' ' || *s == '\t')) {
		s++;
		(*n)--;
	}
	while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

/* Copy s[0..n) without surrounding blanks into out; -1 when too long. */
static int copy_trimmed(char *out, size_t outlen, const char *s, size_t n)
{
	s = trim(s, &n);
	if (n >= outlen)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static bool all_chars(const char *s, bool (*ok)(int c))
{
	for (; *s; s++)
		if (!ok((unsigned char)*s))
			return false;
	return true;
}

static bool kind_char(int c) { return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_'; }
static bool dev_char(int c) { return is_alpha(c) || is_digit(c) || c == ':'; }
static bool path_char(int c) { return c >= 0x20 && c != 0x7f && c != ','; }

/* "file", "phy", or "tap:aio" style: tap names its driver after a colon. */
static bool valid_kind(const char *k)
{
	const char *colon = strchr(k, ':');

	if (!colon)
		return k[0] && all_chars(k, kind_char);
	if (strncmp(k, "tap:", 4) != 0 || !k[4] || strchr(k + 4, ':'))
		return false;
	return all_chars(k + 4, kind_char);
}

static bool valid_path(const char *p)
{
	size_t n = strlen(p);

	return n && n < sizeof(((struct vmcfg_disk *)0)->path) && all_chars(p, path_char) &&
	       p[0] != ' ' && p[n - 1] != ' ';
}

static bool valid_dev(const char *d)
{
	size_t n = strlen(d);

	return is_alpha((unsigned char)d[0]) && n < sizeof(((struct vmcfg_disk *)0)->dev) &&
	       all_chars(d, dev_char);
}

static bool valid_mode(const char *m)
{
	return strcmp(m, "r") == 0 || strcmp(m, "w") == 0 || strcmp(m, "w!") == 0;
}

/* "tap:aio:/x" -> kind "tap:aio", path "/x"; "file:/x" -> "file", "/x". */
static int split_source(const char *src, struct vmcfg_disk *d)
{
	const char *colon = strchr(src, ':');

	if (colon && strncmp(src, "tap:", 4) == 0 && strchr(colon + 1, ':')) {
		const char *second = strchr(colon + 1, ':');
		if (strcspn(colon + 1, "/") > (size_t)(second - colon - 1))
			colon = second;
	}
	if (!colon || (size_t)(colon - src) >= sizeof(d->kind))
		return -1;
	memcpy(d->kind, src, (size_t)(colon - src));
	d->kind[colon - src] = '\0';
	if (strlen(colon + 1) >= sizeof(d->path))
		return -1;
	strcpy(d->path, colon + 1);
	return valid_kind(d->kind) && valid_path(d->path) ? 0 : -1;
}

static int disk_fields(const char *item, char *src, size_t srclen, char *dev,
		       size_t devlen, char *mode, size_t modelen)
{
	const char *c1 = strchr(item, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;

	if (!c2 || strchr(c2 + 1, ','))
		return -1;
	if (copy_trimmed(src, srclen, item, (size_t)(c1 - item)) < 0 ||
	    copy_trimmed(dev, devlen, c1 + 1, (size_t)(c2 - c1 - 1)) < 0 ||
	    copy_trimmed(mode, modelen, c2 + 1, strlen(c2 + 1)) < 0)
		return -1;
	return 0;
}

int vmcfg_parse_disk(const char *item, struct vmcfg_disk *d, char *err, size_t errlen)
{
	char src[sizeof(d->kind) + sizeof(d->path)], dev[sizeof(d->dev) + 8], mode[8];
	char shown[80];
	size_t n;

	memset(d, 0, sizeof(*d));
	quote_printable(shown, sizeof(shown), item, strlen(item));
	if (disk_fields(item, src, sizeof(src), dev, sizeof(dev), mode, sizeof(mode)) < 0) {
		seterr(err, errlen, "disk '%s': expected 'TYPE:PATH,DEVICE,MODE' "
		       "like 'file:/OVS/running_pool/g/system.img,hda,w'", shown);
		return -1;
	}
	n = strlen(dev);
	if (n > 6 && strcmp(dev + n - 6, ":cdrom") == 0) {
		d->cdrom = true;
		dev[n - 6] = '\0';
	}
	if (!valid_dev(dev)) {
		seterr(err, errlen, "disk '%s': bad device name (like hda, xvda or hdc:cdrom)",
		       shown);
		return -1;
	}
	strcpy(d->dev, dev);
	if (!valid_mode(mode)) {
		seterr(err, errlen, "disk '%s': mode must be r, w or w!", shown);
		return -1;
	}
	strcpy(d->mode, mode);
	if (!src[0] && d->cdrom)
		return 0; /* an empty drive: ',hdc:cdrom,r' */
	if (!src[0]) {
		seterr(err, errlen, "disk '%s': only a cdrom may be empty", shown);
		return -1;
	}
	if (split_source(src, d) < 0) {
		seterr(err, errlen, "disk '%s': source must be TYPE:PATH like "
		       "file:/path, phy:/dev/x or tap:aio:/path", shown);
		return -1;
	}
	return 0;
}

static bool disk_equal(const struct vmcfg_disk *a, const struct vmcfg_disk *b)
{
	return strcmp(a->kind, b->kind) == 0 && strcmp(a->path, b->path) == 0 &&
	       strcmp(a->dev, b->dev) == 0 && a->cdrom == b->cdrom &&
	       strcmp(a->mode, b->mode) == 0;
}

/* The text is checked by parsing it back: a struct that cannot survive the
 * trip (a comma in the path, "tap" with a path that looks like a driver,
 * a dev already ending in ":cdrom") must not reach vm.cfg. */
int vmcfg_format_disk(const struct vmcfg_disk *d, char *out, size_t outlen)
{
	struct vmcfg_disk *back = xmalloc(sizeof(*back));
	char *text = NULL;
	int ret = -1;

	/* The fixed arrays may come unterminated from a careless caller. */
	if (!memchr(d->kind, 0, sizeof(d->kind)) || !memchr(d->path, 0, sizeof(d->path)) ||
	    !memchr(d->dev, 0, sizeof(d->dev)) || !memchr(d->mode, 0, sizeof(d->mode)))
		goto out;
	text = xasprintf("%s%s%s,%s%s,%s", d->kind, d->kind[0] ? ":" : "", d->path,
			 d->dev, d->cdrom ? ":cdrom" : "", d->mode);
	if (vmcfg_parse_disk(text, back, NULL, 0) < 0 || !disk_equal(d, back))
		goto out;
	if (strlen(text) >= outlen)
		goto out;
	strcpy(out, text);
	ret = 0;
out:
	free(text);
	free(back);
	return ret;
}

/* ---- vif items ----------------------------------------------------- */

/* Values end up on command lines of the hypervisor tools: keep them to
 * characters that need no quoting anywhere. */
static bool name_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '-' || c == ':';
}

static bool valid_name(const char *s)
{
	return s[0] && all_chars(s, name_char);
}

static bool valid_mac(const char *s)
{
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		if (!is_hex((unsigned char)p[0]) || !is_hex((unsigned char)p[1]))
			return false;
		if (p[2] != (i < 5 ? ':' : '\0'))
			return false;
	}
	return true;
}

bool vmcfg_mac_ok(const char *s)
{
	return valid_mac(s);
}

/* A decimal of at most 12 digits (so window x 10^6 cannot overflow), or
 * NULL. */
static const char *read_uint(const char *s, uint64_t *out)
{
	const char *start = s;

	*out = 0;
	while (is_digit((unsigned char)*s) && s - start < 12)
		*out = *out * 10 + (uint64_t)(*s++ - '0');
	return s > start && !is_digit((unsigned char)*s) ? s : NULL;
}

int vmcfg_vif_rate(const char *s, uint64_t *bytes_per_s, uint64_t *window_us)
{
	uint64_t n, mult = 1, window = VMCFG_RATE_WINDOW_US;
	bool bits;

	if (!(s = read_uint(s, &n)))
		return -1;
	if (*s == 'G' || *s == 'M' || *s == 'K')
		mult = *s++ == 'G' ? 1000000000 : s[-1] == 'M' ? 1000000 : 1000;
	if ((*s != 'B' && *s != 'b') || strncmp(s + 1, "/s", 2) != 0)
		return -1;
	bits = *s == 'b';
	s += 3;
	if (*s) {
		uint64_t unit = 1000000;
		if (*s++ != '@' || !(s = read_uint(s, &window)))
			return -1;
		if (*s == 'm' || *s == 'u')
			unit = *s++ == 'm' ? 1000 : 1;
		if (strcmp(s, "s") != 0)
			return -1;
		window *= unit;
	}
	if (n > VMCFG_RATE_MAX * 8 / mult)
		return -1;
	n *= mult;
	if (bits)
		n /= 8;
	/* Nothing would pass at 0; past the limits the token bucket's
	 * 32-bit fields (and any real link) end. */
	if (n == 0 || n > VMCFG_RATE_MAX || window == 0 || window > VMCFG_RATE_WINDOW_MAX_US)
		return -1;
	*bytes_per_s = n;
	*window_us = window;
	return 0;
}

/* Xen's own pattern: NUM[GMK]{B|b}/s[@NUM[m|u]s], e.g. 10Mb/s@50ms. */
static bool valid_rate(const char *s)
{
	uint64_t r, w;

	return vmcfg_vif_rate(s, &r, &w) == 0;
}

struct vif_field {
	const char *name;
	size_t off, size;
	bool (*valid)(const char *s);
	const char *hint;
};

static const struct vif_field vif_fields[] = {
	{ "mac", offsetof(struct vmcfg_vif, mac), sizeof(((struct vmcfg_vif *)0)->mac),
	  valid_mac, "six hex pairs like 00:16:3e:73:a3:27" },
	{ "bridge", offsetof(struct vmcfg_vif, bridge), sizeof(((struct vmcfg_vif *)0)->bridge),
	  valid_name, "letters, digits and . _ - :" },
	{ "type", offsetof(struct vmcfg_vif, type), sizeof(((struct vmcfg_vif *)0)->type),
	  valid_name, "letters, digits and . _ - :" },
	{ "model", offsetof(struct vmcfg_vif, model), sizeof(((struct vmcfg_vif *)0)->model),
	  valid_name, "letters, digits and . _ - :" },
	{ "rate", offsetof(struct vmcfg_vif, rate), sizeof(((struct vmcfg_vif *)0)->rate),
	  valid_rate, "NUM[GMK]B/s or NUM[GMK]b/s, optionally @NUM[mu]s, like 10Mb/s@50ms, "
	  "above 0 and at most 17Gb/s, the window at most 10 s" },
	{ "vifname", offsetof(struct vmcfg_vif, vifname),
	  sizeof(((struct vmcfg_vif *)0)->vifname), valid_name, "letters, digits and . _ - :" },
};

static const struct vif_field *vif_field(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(vif_fields); i++)
		if (strcmp(vif_fields[i].name, name) == 0)
			return &vif_fields[i];
	return NULL;
}

/* One "key=value" setting (already trimmed of the comma around it). */
static int vif_setting(const char *s, size_t n, struct vmcfg_vif *v, const char *shown,
		       char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', n), *k;
	char key[80], val[80];
	const struct vif_field *f;
	size_t kn;
	char *dst;

	if (!eq) {
		seterr(err, errlen, "vif '%s': settings are key=value, separated by commas",
		       shown);
		return -1;
	}
	kn = (size_t)(eq - s);
	k = trim(s, &kn);
	if (copy_trimmed(key, sizeof(key), k, kn) < 0 || !(f = vif_field(key))) {
		quote_printable(key, sizeof(key), k, kn);
		seterr(err, errlen, "vif '%s': unknown setting '%s' (known: mac, bridge, "
		       "type, model, rate, vifname)", shown, key);
		return -1;
	}
	dst = (char *)v + f->off;
	if (dst[0]) {
		seterr(err, errlen, "vif '%s': %s given twice", shown, f->name);
		return -1;
	}
	if (copy_trimmed(val, sizeof(val), eq + 1, n - (size_t)(eq + 1 - s)) < 0 ||
	    strlen(val) >= f->size || !f->valid(val)) {
		seterr(err, errlen, "vif '%s': %s must be %s (at most %zu characters)",
		       shown, f->name, f->hint, f->size - 1);
		return -1;
	}
	strcpy(dst, val);
	return 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int vmcfg_parse_vif(const char *item, struct vmcfg_vif *v, char *err, size_t errlen)
{
	const char *p = item;
	char shown[80];

	memset(v, 0, sizeof(*v));
	quote_printable(shown, sizeof(shown), item, strlen(item));
	for (;;) {
		size_t n = strcspn(p, ",");
		size_t lead = strspn(p, " \t");

		/* Empty settings are how the guide drops one: 'type=ioemu, , bridge=x'. */
		if (lead < n && vif_setting(p, n, v, shown, err, errlen) < 0)
			return -1;
		if (!p[n])
			break;
		p += n + 1;
	}
	lower(v->mac);
	return 0;
}

int vmcfg_format_vif(const struct vmcfg_vif *v, char *out, size_t outlen)
{
	struct buf b;
	int ret = -1;

	buf_init(&b, 0);
	for (size_t i = 0; i < ARRAY_SIZE(vif_fields); i++) {
		const struct vif_field *f = &vif_fields[i];
		const char *val = (const char *)v + f->off;
		if (!memchr(val, 0, f->size))
			goto out;
		if (!val[0])
			continue;
		if (!f->valid(val))
			goto out;
		buf_printf(&b, "%s%s=%s", b.len ? ", " : "", f->name, val);
	}
	if (b.len >= outlen)
		goto out;
	memcpy(out, b.data ? b.data : "", b.len);
	out[b.len] = '\0';
	ret = 0;
out:
	buf_free(&b);
	return ret;
}
