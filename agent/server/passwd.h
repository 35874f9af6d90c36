/* passwd.h - the agent's password file.
 *
 * One user per line: `user:hash`, where hash is a crypt(3) string made with
 * libxcrypt's yescrypt ("$y$..."), salted, slow by design. Lines starting
 * with '#' and blank lines are kept on rewrite. The file is written
 * atomically (temp file + fsync + rename) with mode 0600. User names are
 * 1-64 bytes of [A-Za-z0-9._-]. Passwords are 1-PASSWD_MAX_LEN bytes
 * without line breaks (libxcrypt refuses phrases of 512 bytes or more).
 * The file is read whole and may be at most 1 MiB, lines at most 1024
 * bytes; a line that is not a comment, blank or user:hash is an error. */
#ifndef OVS_PASSWD_H
#define OVS_PASSWD_H

#include <stddef.h>

#define PASSWD_MAX_LEN 511
#define PASSWD_MAX_LEN_STR "511"

/* Hash a password with a fresh random salt. Returns 0, or -1 with err. */
int passwd_hash(const char *password, char *out, size_t outlen, char *err, size_t errlen);

/* Check user/password against the file. This is slow (by design): the
 * daemon calls it only in a child process. Returns 1 match, 0 no match
 * (unknown user or wrong password: a dummy hash is still computed for an
 * unknown user so timing does not tell), -1 error (err says why): the file
 * is missing or unreadable, malformed, names the user twice, or holds a
 * hash this libxcrypt cannot check. A missing file is an error, not "no
 * match", so a misconfigured password_file shows up in the log. */
int passwd_verify(const char *file, const char *user, const char *password,
		  char *err, size_t errlen);

/* Set (add or replace) user's password; creates the file when missing
 * (its directory must exist). Returns 0 or -1 with err. */
int passwd_set(const char *file, const char *user, const char *password,
	       char *err, size_t errlen);

/* 1 when the name is an acceptable user name. */
int passwd_valid_user(const char *user);

/* 1 when the password is acceptable (see above). */
int passwd_valid_password(const char *password);

#endif
