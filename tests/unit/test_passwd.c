/* test_passwd.c - the password file: hashing, verify, atomic rewrite. */
#include "harness.h"
#include "agent/server/passwd.h"
#include "agent/base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/test_passwd.XXXXXX";
static char err[256];

static char *path_in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* The file's contents, malloc'd ("" when unreadable). */
static char *read_file(const char *path)
{
	char *s = xcalloc(1, 65536);
	FILE *f = fopen(path, "r");

	if (f) {
		size_t n = fread(s, 1, 65535, f);
		s[n] = '\0';
		fclose(f);
	}
	return s;
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		/* FILE.lock stays on purpose: removing it would break the lock */
		if (e->d_name[0] != '.' && (len < 5 || strcmp(e->d_name + len - 5, ".lock") != 0))
			n++;
	}
	closedir(d);
	return n;
}

TEST(hash_format)
{
	char h1[512], h2[512];

	CHECK_INT(passwd_hash("secret", h1, sizeof(h1), err, sizeof(err)), 0);
	CHECK_INT(passwd_hash("secret", h2, sizeof(h2), err, sizeof(err)), 0);
	CHECK(strncmp(h1, "$y$", 3) == 0);
	CHECK(strcmp(h1, h2) != 0); /* fresh salt each time */
	CHECK_INT(passwd_hash("secret", h1, 10, err, sizeof(err)), -1);
	CHECK_INT(passwd_hash("", h1, sizeof(h1), err, sizeof(err)), -1);
}

TEST(set_verify_round_trip)
{
	char *f = path_in_dir("rt");
	char *text;

	CHECK_INT(passwd_set(f, "admin", "s3cret pass", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "admin", "s3cret pass", err, sizeof(err)), 1);
	text = read_file(f);
	CHECK(strncmp(text, "admin:$y$", 9) == 0);
	CHECK(strstr(text, "s3cret") == NULL); /* never stored in clear */
	free(text);
	unlink(f);
	free(f);
}

TEST(wrong_password_and_unknown_user)
{
	char *f = path_in_dir("wrong");

	CHECK_INT(passwd_set(f, "admin", "right", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "admin", "wrong", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "admin", "righ", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "admin", "", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "nobody", "right", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "adm:in", "right", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "", "right", err, sizeof(err)), 0);
	unlink(f);
	free(f);
}

TEST(replace_keeps_others_and_comments)
{
	char *f = path_in_dir("keep");
	char *text;

	write_file(f, "# the agent's users\n\n");
	CHECK_INT(passwd_set(f, "alice", "pw-a", err, sizeof(err)), 0);
	CHECK_INT(passwd_set(f, "bob", "pw-b", err, sizeof(err)), 0);
	CHECK_INT(passwd_set(f, "alice", "pw-a2", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "alice", "pw-a2", err, sizeof(err)), 1);
	CHECK_INT(passwd_verify(f, "alice", "pw-a", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "bob", "pw-b", err, sizeof(err)), 1);
	text = read_file(f);
	CHECK(strncmp(text, "# the agent's users\n\nalice:$y$", 30) == 0);
	CHECK(strstr(text, "\nbob:$y$") != NULL);
	CHECK(strstr(strstr(text, "alice:") + 1, "alice:") == NULL);
	free(text);
	CHECK_INT(count_entries(), 1); /* no temp file left behind */
	unlink(f);
	free(f);
}

TEST(file_mode_0600)
{
	char *f = path_in_dir("mode");
	struct stat st;

	write_file(f, "# old\n");
	chmod(f, 0644);
	CHECK_INT(passwd_set(f, "admin", "x", err, sizeof(err)), 0);
	CHECK_INT(stat(f, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0600);
	unlink(f);
	free(f);
}

TEST(invalid_user_names)
{
	char *f = path_in_dir("users");
	char long_name[80];

	memset(long_name, 'a', sizeof(long_name));
	long_name[65] = '\0';
	CHECK(passwd_valid_user("admin"));
	CHECK(passwd_valid_user("a.b_c-9"));
	CHECK(!passwd_valid_user(""));
	CHECK(!passwd_valid_user("a:b"));
	CHECK(!passwd_valid_user("a\nb"));
	CHECK(!passwd_valid_user("a b"));
	CHECK(!passwd_valid_user(long_name));
	long_name[64] = '\0';
	CHECK(passwd_valid_user(long_name));
	CHECK_INT(passwd_set(f, "a:b", "x", err, sizeof(err)), -1);
	CHECK_INT(passwd_set(f, "a\nb", "x", err, sizeof(err)), -1);
	CHECK(access(f, F_OK) != 0); /* nothing written */
	free(f);
}

TEST(invalid_passwords)
{
	char *f = path_in_dir("pws");
	char big[PASSWD_MAX_LEN + 2];

	memset(big, 'p', sizeof(big));
	big[PASSWD_MAX_LEN + 1] = '\0';
	CHECK_INT(passwd_set(f, "admin", "", err, sizeof(err)), -1);
	CHECK_INT(passwd_set(f, "admin", "a\nb", err, sizeof(err)), -1);
	CHECK_INT(passwd_set(f, "admin", big, err, sizeof(err)), -1);
	CHECK(strstr(err, "longer") != NULL);
	CHECK(access(f, F_OK) != 0);
	big[PASSWD_MAX_LEN] = '\0'; /* the longest allowed */
	CHECK_INT(passwd_set(f, "admin", big, err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "admin", big, err, sizeof(err)), 1);
	unlink(f);
	free(f);
}

TEST(missing_file_is_error)
{
	char *f = path_in_dir("missing");

	err[0] = '\0';
	CHECK_INT(passwd_verify(f, "admin", "x", err, sizeof(err)), -1);
	CHECK(strstr(err, "No such file") != NULL);
	free(f);
}

TEST(malformed_file_is_error)
{
	char *f = path_in_dir("bad");

	write_file(f, "admin:$y$j9T$abc\nthis is not a user line\n");
	CHECK_INT(passwd_verify(f, "admin", "x", err, sizeof(err)), -1);
	CHECK(strstr(err, ":2:") != NULL);
	CHECK_INT(passwd_set(f, "admin", "x", err, sizeof(err)), -1);
	write_file(f, "admin:$y$a\nadmin:$y$b\n");
	CHECK_INT(passwd_verify(f, "admin", "x", err, sizeof(err)), -1);
	CHECK(strstr(err, "more than once") != NULL);
	/* setting the password fixes the ambiguity */
	CHECK_INT(passwd_set(f, "admin", "x", err, sizeof(err)), 0);
	CHECK_INT(passwd_verify(f, "admin", "x", err, sizeof(err)), 1);
	unlink(f);
	free(f);
}

TEST(crlf_and_no_final_newline)
{
	char *f = path_in_dir("crlf");
	char h[512];
	char *text;

	CHECK_INT(passwd_hash("pw", h, sizeof(h), err, sizeof(err)), 0);
	text = xasprintf("# c\r\nadmin:%s", h);
	write_file(f, text);
	free(text);
	CHECK_INT(passwd_verify(f, "admin", "pw", err, sizeof(err)), 1);
	unlink(f);
	free(f);
}

TEST(missing_directory_fails)
{
	char *f = path_in_dir("nodir/password");

	CHECK_INT(passwd_set(f, "admin", "x", err, sizeof(err)), -1);
	CHECK(strstr(err, "nodir/password") != NULL);
	free(f);
}

/* 16 processes setting 16 users at once: every one lands (the lock). */
TEST(concurrent_sets_all_land)
{
	char *file = path_in_dir("concurrent");
	pid_t pids[16];
	int ok = 1;

	for (int i = 0; i < 16; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char user[16];
			snprintf(user, sizeof(user), "user%d", i);
			_exit(passwd_set(file, user, "pw-long-enough", err, sizeof(err)) == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 16; i++) {
		int st = 0;
		if (pids[i] < 0 || waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			ok = 0;
	}
	CHECK(ok);
	for (int i = 0; i < 16; i++) {
		char user[16];
		snprintf(user, sizeof(user), "user%d", i);
		CHECK_INT(passwd_verify(file, user, "pw-long-enough", err, sizeof(err)), 1);
	}
	unlink(file);
	{
		char *lock = xasprintf("%s.lock", file);
		unlink(lock);
		free(lock);
	}
	free(file);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(hash_format);
	RUN(set_verify_round_trip);
	RUN(wrong_password_and_unknown_user);
	RUN(replace_keeps_others_and_comments);
	RUN(file_mode_0600);
	RUN(invalid_user_names);
	RUN(invalid_passwords);
	RUN(missing_file_is_error);
	RUN(malformed_file_is_error);
	RUN(crlf_and_no_final_newline);
	RUN(missing_directory_fails);
	RUN(concurrent_sets_all_land);
	{
		/* the lock files the tests left */
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.')
				unlinkat(dirfd(d), e->d_name, 0);
		if (d)
			closedir(d);
	}
	rmdir(dir);
	return harness_done();
}
