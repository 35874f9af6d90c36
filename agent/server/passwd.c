/* passwd.c - the agent's password file: yescrypt hashes, atomic rewrite.
 *
 * The file is small and read whole (bounded), parsed into a list of lines
 * that point into the read buffer, and for passwd_set written back whole to
 * a temporary file that is renamed over the original, so a reader (the
 * daemon) sees either the old or the new file, never a half-written one. */
#include "agent/server/passwd.h"
#include "agent/base/file_replace.h"
#include "agent/base/buf.h"
#include "agent/base/util.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWD_FILE_MAX (1024 * 1024) /* far more than any real user list */
#define PASSWD_LINE_MAX 1024          /* a yescrypt line is under 150 bytes */
#define PASSWD_USER_MAX 64

/* The hash of a random, forgotten password, computed with the default
 * yescrypt cost. An unknown user is checked against it so that the answer
 * takes as long as for a real user and timing does not reveal who exists. */
static const char dummy_hash[] =
	"$y$j9T$bbXnz7U4P/E5NCriQOOxB.$z1j4gx2YDQqoXxI31c6hGNaeMs8U/Do7JuwPdj0mIh6";

/* One line of the file. user_len is 0 for comment and blank lines. */
struct pw_line {
	const char *text; /* points into pw_file.data; not NUL-terminated */
	size_t len;       /* without the newline (and without a trailing \r) */
	size_t user_len;  /* bytes of text before the ':' */
};

struct pw_file {
	char *data;           /* the whole file, NUL-terminated */
	size_t len;           /* bytes in data (a stray NUL is caught per line) */
	struct pw_line *lines;
	size_t nlines;
	int exists;           /* 0 when the file was missing (passwd_set only) */
	struct stat st;       /* valid when exists */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int user_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int valid_user_n(const char *user, size_t n)
{
	if (n == 0 || n > PASSWD_USER_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!user_char_ok((unsigned char)user[i]))
			return 0;
	return 1;
}

int passwd_valid_user(const char *user)
{
	return user && valid_user_n(user, strnlen(user, PASSWD_USER_MAX + 1));
}

/* NULL when the password is acceptable, else why not. A NUL cannot be
 * inside a C string; the tools that read passwords reject it themselves. */
static const char *password_problem(const char *pw)
{
	size_t n;

	if (!pw || !*pw)
		return "the password is empty";
	n = strnlen(pw, PASSWD_MAX_LEN + 1);
	if (n > PASSWD_MAX_LEN)
		return "the password is longer than " PASSWD_MAX_LEN_STR " bytes";
	if (strpbrk(pw, "\r\n"))
		return "the password contains a line break";
	return NULL;
}

int passwd_valid_password(const char *password)
{
	return password_problem(password) == NULL;
}

/* crypt_data is 32 KiB and ends up holding password-derived bytes, so it
 * lives on the heap and is wiped before it is freed. */
static struct crypt_data *crypt_data_new(void)
{
	return xcalloc(1, sizeof(struct crypt_data));
}

static void crypt_data_free(struct crypt_data *cd)
{
	if (!cd)
		return;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
}

/* crypt_rn signals failure with NULL or with a string starting with '*'. */
static const char *do_crypt(const char *password, const char *setting,
			    struct crypt_data *cd)
{
	const char *h = crypt_rn(password, setting, cd, (int)sizeof(*cd));

	return (h && h[0] != '*') ? h : NULL;
}

int passwd_hash(const char *password, char *out, size_t outlen, char *err, size_t errlen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	const char *problem = password_problem(password);
	const char *h;
	int ret = -1;

	if (problem) {
		seterr(err, errlen, "%s", problem);
		goto out;
	}
	/* count 0 asks for yescrypt's default cost; NULL entropy means the
	 * library reads the salt from the OS random source. */
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, setting, (int)sizeof(setting))) {
		seterr(err, errlen, "cannot make a yescrypt salt: %s", strerror(errno));
		goto out;
	}
	cd = crypt_data_new();
	h = do_crypt(password, setting, cd);
	if (!h) {
		seterr(err, errlen, "yescrypt hashing failed: %s", strerror(errno));
		goto out;
	}
	if (strlen(h) >= outlen) {
		seterr(err, errlen, "hash buffer too small");
		goto out;
	}
	memcpy(out, h, strlen(h) + 1);
	ret = 0;
out:
	crypt_data_free(cd);
	return ret;
}

/* ---- reading and parsing ------------------------------------------------ */

static void pw_file_free(struct pw_file *pf)
{
	free(pf->data);
	free(pf->lines);
	memset(pf, 0, sizeof(*pf));
}

/* Read all of fd into b, failing when it is larger than PASSWD_FILE_MAX
 * (the buffer's max is one more, so "too big" is seen, not truncated). */
static int read_bounded(int fd, struct buf *b)
{
	for (;;) {
		size_t room = b->max - b->len;
		size_t chunk = room < 65536 ? room : 65536;
		char *p;
		ssize_t n;

		if (chunk == 0) {
			errno = EFBIG;
			return -1;
		}
		p = buf_space(b, chunk);
		n = read(fd, p, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		buf_commit(b, (size_t)n);
	}
	if (b->len > PASSWD_FILE_MAX) {
		errno = EFBIG;
		return -1;
	}
	return 0;
}

/* Load the whole file. A missing file is an empty list when missing_ok. */
static int pw_read(const char *file, struct pw_file *pf, int missing_ok,
		   char *err, size_t errlen)
{
	struct buf b;
	int fd, ret = -1;

	buf_init(&b, PASSWD_FILE_MAX + 1);
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok) {
			pf->data = xstrdup("");
			ret = 0;
		} else {
			seterr(err, errlen, "%s: %s", file, strerror(errno));
		}
		goto out;
	}
	if (fstat(fd, &pf->st) < 0) {
		seterr(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(pf->st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", file);
		goto out;
	}
	if (read_bounded(fd, &b) < 0) {
		seterr(err, errlen, "%s: %s", file,
		       errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		goto out;
	}
	pf->exists = 1;
	pf->data = buf_steal(&b, &pf->len);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&b);
	return ret;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

/* Check one line; fill ln->user_len. lineno is for the message. */
static int pw_parse_line(const char *file, size_t lineno, struct pw_line *ln,
			 char *err, size_t errlen)
{
	const char *colon;
	size_t hlen;

	ln->user_len = 0;
	if (ln->len > PASSWD_LINE_MAX) {
		seterr(err, errlen, "%s:%zu: line too long", file, lineno);
		return -1;
	}
	if (memchr(ln->text, '\0', ln->len)) {
		seterr(err, errlen, "%s:%zu: NUL byte in line", file, lineno);
		return -1;
	}
	if (ln->len == 0 || ln->text[0] == '#' || is_blank(ln->text, ln->len))
		return 0;
	colon = memchr(ln->text, ':', ln->len);
	if (!colon || !valid_user_n(ln->text, (size_t)(colon - ln->text))) {
		seterr(err, errlen, "%s:%zu: expected user:hash", file, lineno);
		return -1;
	}
	ln->user_len = (size_t)(colon - ln->text);
	hlen = ln->len - ln->user_len - 1;
	if (hlen == 0 || memchr(colon + 1, ':', hlen) || memchr(colon + 1, ' ', hlen) ||
	    memchr(colon + 1, '\t', hlen)) {
		seterr(err, errlen, "%s:%zu: malformed hash for user %.*s", file,
		       lineno, (int)ln->user_len, ln->text);
		return -1;
	}
	return 0;
}

/* Split pf->data into lines and check each. A final line without a newline
 * is accepted; a trailing \r (a file edited on Windows) is dropped. */
static int pw_parse(const char *file, struct pw_file *pf, char *err, size_t errlen)
{
	const char *p = pf->data, *end = pf->data + pf->len;
	size_t cap = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		struct pw_line *ln;

		if (pf->nlines == cap) {
			cap = cap ? cap * 2 : 16;
			pf->lines = xrealloc(pf->lines, cap * sizeof(*pf->lines));
		}
		ln = &pf->lines[pf->nlines++];
		ln->text = p;
		ln->len = (size_t)(stop - p);
		if (ln->len && p[ln->len - 1] == '\r')
			ln->len--;
		if (pw_parse_line(file, pf->nlines, ln, err, errlen) < 0)
			return -1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int pw_load(const char *file, struct pw_file *pf, int missing_ok,
		   char *err, size_t errlen)
{
	memset(pf, 0, sizeof(*pf));
	if (pw_read(file, pf, missing_ok, err, errlen) < 0 ||
	    pw_parse(file, pf, err, errlen) < 0) {
		pw_file_free(pf);
		return -1;
	}
	return 0;
}

static int line_is_user(const struct pw_line *ln, const char *user, size_t ulen)
{
	return ln->user_len == ulen && memcmp(ln->text, user, ulen) == 0;
}

/* Index of user's line, -1 when absent; *count says how many lines name
 * the user (more than one is ambiguous). */
static long pw_find(const struct pw_file *pf, const char *user, int *count)
{
	size_t ulen = strlen(user);
	long found = -1;

	*count = 0;
	for (size_t i = 0; i < pf->nlines; i++) {
		if (!line_is_user(&pf->lines[i], user, ulen))
			continue;
		if (found < 0)
			found = (long)i;
		(*count)++;
	}
	return found;
}

/* ---- verification ------------------------------------------------------- */

/* 1 when password hashes to setting, 0 when not, -1 when setting is not a
 * hash libxcrypt understands. Length is not secret (all hashes of one
 * kind have the same length); the bytes are compared in constant time. */
static int check_hash(const char *password, const char *setting)
{
	struct crypt_data *cd = crypt_data_new();
	const char *h = do_crypt(password, setting, cd);
	size_t n = strlen(setting);
	int ret;

	if (!h)
		ret = -1;
	else
		ret = strlen(h) == n && ct_memcmp(h, setting, n) == 0;
	crypt_data_free(cd);
	return ret;
}

int passwd_verify(const char *file, const char *user, const char *password,
		  char *err, size_t errlen)
{
	struct pw_file pf;
	char *stored = NULL;
	int count = 0, ret = -1, r;

	if (pw_load(file, &pf, 0, err, errlen) < 0)
		return -1;
	if (passwd_valid_user(user)) {
		long i = pw_find(&pf, user, &count);

		if (count > 1) {
			seterr(err, errlen, "%s: user %s appears more than once", file, user);
			goto out;
		}
		if (i >= 0) {
			const struct pw_line *ln = &pf.lines[i];
			stored = xstrndup(ln->text + ln->user_len + 1,
					  ln->len - ln->user_len - 1);
		}
	}
	/* A password that could never have been set cannot match; its length
	 * is the caller's own, so answering fast tells nothing. */
	if (!passwd_valid_password(password)) {
		ret = 0;
		goto out;
	}
	r = check_hash(password, stored ? stored : dummy_hash);
	if (r < 0) {
		seterr(err, errlen, "%s: the hash of user %s is not a crypt(3) hash "
		       "this system supports", file, user);
		goto out;
	}
	ret = stored ? r : 0;
out:
	free(stored);
	pw_file_free(&pf);
	return ret;
}

/* ---- rewriting ---------------------------------------------------------- */

/* The old file with user's line replaced (or appended). Further lines for
 * the same user are dropped: they made the file ambiguous. */
static void render(const struct pw_file *pf, const char *user, const char *hash,
		   struct buf *out)
{
	size_t ulen = strlen(user);
	int done = 0;

	for (size_t i = 0; i < pf->nlines; i++) {
		const struct pw_line *ln = &pf->lines[i];

		if (!line_is_user(ln, user, ulen)) {
			buf_append(out, ln->text, ln->len);
			buf_puts(out, "\n");
		} else if (!done) {
			buf_printf(out, "%s:%s\n", user, hash);
			done = 1;
		}
	}
	if (!done)
		buf_printf(out, "%s:%s\n", user, hash);
}

/* The file is replaced by rename, so its own inode cannot carry a lock:
 * FILE.lock beside it does (flock, exclusive, waited for). */
static int lock_file(const char *file, char *err, size_t errlen)
{
	char *path = xasprintf("%s.lock", file);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
	} else {
		while (flock(fd, LOCK_EX) < 0) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, "lock %s: %s", path, strerror(errno));
			close(fd);
			fd = -1;
			break;
		}
	}
	free(path);
	return fd;
}

int passwd_set(const char *file, const char *user, const char *password,
	       char *err, size_t errlen)
{
	char hash[CRYPT_OUTPUT_SIZE];
	struct pw_file pf;
	struct buf out;
	int ret = -1, lock = -1;

	memset(&pf, 0, sizeof(pf));
	buf_init(&out, 0);
	if (!passwd_valid_user(user)) {
		seterr(err, errlen, "invalid user name: use 1-%d characters from "
		       "A-Z a-z 0-9 . _ -", PASSWD_USER_MAX);
		goto out;
	}
	if (passwd_hash(password, hash, sizeof(hash), err, errlen) < 0)
		goto out;
	/* Read, change, replace under one lock, so two runs at once both land. */
	if ((lock = lock_file(file, err, errlen)) < 0)
		goto out;
	if (pw_load(file, &pf, 1, err, errlen) < 0)
		goto out;
	render(&pf, user, hash, &out);
	ret = file_replace(file, out.data ? out.data : "", out.len, 0600, err, errlen);
out:
	if (lock >= 0)
		close(lock);  /* releases the flock */
	pw_file_free(&pf);
	buf_free(&out);
	return ret;
}
