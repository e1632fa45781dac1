/*-------------------------------------------------------------------------
 *
 * slowfs.c
 *	  A passthrough FUSE filesystem that makes reads slow and, on request,
 *	  wrong: a test and benchmark tool for pg_asyncscan.
 *
 *	  usage: slowfs [options] SOURCE_DIR MOUNTPOINT
 *
 * slowfs mirrors SOURCE_DIR at MOUNTPOINT.  Every read request that reaches
 * the daemon first sleeps for a configurable time (--read-latency-us), so a
 * PostgreSQL tablespace placed on the mount behaves like storage with a
 * long per-request latency.  The daemon is multi-threaded and sleeps in
 * the request's own thread, so requests that are in flight together pay
 * the latency together: synchronous 8kB reads pay it once per block,
 * asynchronous (io_uring, O_DIRECT) reads with many requests in flight
 * see it overlapped.  That difference is what the pg_asyncscan benchmarks
 * measure.
 *
 * For the reliability tests slowfs can also inject faults into reads of
 * chosen files:
 *
 *	  EIO		a read request overlapping a configured byte range fails
 *				with EIO;
 *	  short		a read request covering a configured byte returns fewer
 *				bytes than asked;
 *	  tear		a read request of an O_DIRECT open overlapping a configured
 *				byte range is served in two halves with a pause between
 *				them, so that a write landing in the pause makes the reader
 *				see half the old and half the new data (a torn read).
 *
 * Rules and latencies can be given on the command line and changed while
 * mounted by writing commands to the file ".slowfs_control" at the root of
 * the mount (it does not appear in directory listings); reading that file
 * shows the current settings and counters.  See test/tools/README.md for
 * the command syntax.
 *
 * Open files keep a descriptor of the backing file in fi->fh; data moves
 * with pread/pwrite on it.  A file opened with O_DIRECT is served with
 * FOPEN_DIRECT_IO (no page cache at the FUSE level, every read reaches the
 * daemon) and, unless --no-backing-direct, the backing file is opened with
 * O_DIRECT too.
 *
 *	  build: cc -O2 -Wall -Wextra -Werror $(pkg-config --cflags fuse3) \
 *				-o slowfs slowfs.c $(pkg-config --libs fuse3) -lpthread
 *
 * IDENTIFICATION
 *	  test/tools/slowfs.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/types.h>

#include <fuse.h>
#include <fuse_lowlevel.h>

#define CONTROL_NAME		".slowfs_control"
#define CONTROL_PATH		"/" CONTROL_NAME
#define DIO_ALIGN			4096
#define MAX_RULES			256

/* Fault injection rule */
typedef enum RuleKind
{
	RULE_EIO,
	RULE_SHORT,
	RULE_TEAR
} RuleKind;

typedef struct Rule
{
	RuleKind	kind;
	char	   *suffix;			/* path suffix, "*" matches every file */
	uint64_t	offset;
	uint64_t	length;			/* EIO, tear: range length, 0 = to end of
								 * file */
	uint64_t	maxbytes;		/* short: bytes delivered from offset on */
	uint64_t	pause_us;		/* tear: pause between the two halves */
	uint64_t	remaining;		/* times left to fire, 0 = unlimited */
	uint64_t	hits;			/* times fired */
} Rule;

/* Everything the control file can change, protected by config_lock */
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t read_latency_us = 0;
static uint64_t write_latency_us = 0;
static Rule rules[MAX_RULES];
static int	nrules = 0;

/* Counters, updated with atomics */
static uint64_t stat_reads;
static uint64_t stat_read_bytes;
static uint64_t stat_writes;
static uint64_t stat_write_bytes;
static uint64_t stat_eio;
static uint64_t stat_short;
static uint64_t stat_tear_reads;	/* reads served in two halves */
static uint64_t stat_tear_written;	/* of which the range was written in
									 * the pause: torn */

/*
 * Torn reads in their pause, so that a write can tell it lands in one;
 * protected by pause_lock.
 */
#define MAX_PAUSES			256
typedef struct Pause
{
	const char *path;			/* NULL when the entry is free */
	uint64_t	off;
	uint64_t	len;
	bool		written;
} Pause;
static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static Pause pauses[MAX_PAUSES];

/* Fixed at startup */
static int	source_fd = -1;
static const char *source_dir = NULL;
static bool backing_direct = true;
static bool running_as_root = false;

/*
 * State of an open file.  The control file uses a single static handle
 * with is_control set.
 */
typedef struct Handle
{
	int			fd;
	bool		is_control;
	bool		direct;			/* backing fd opened with O_DIRECT */
	bool		caller_direct;	/* opened with O_DIRECT (tear rules) */
	char	   *path;			/* path at open time, for rule matching */
} Handle;

static Handle control_handle = {-1, true, false, false, NULL};

/* Command line options */
typedef struct Options
{
	unsigned	read_latency_us;
	unsigned	write_latency_us;
	unsigned	max_background;
	unsigned	max_threads;
	int			no_backing_direct;
	int			verbose;
	int			show_help;
	int			nonopts;
	char	   *source;
} Options;

static Options options;
static char startup_errors[1024];

enum
{
	KEY_EIO,
	KEY_SHORT,
	KEY_HELP
};

#define SLOWFS_OPT(t, p) { t, offsetof(Options, p), 1 }

static const struct fuse_opt slowfs_opts[] = {
	SLOWFS_OPT("--read-latency-us=%u", read_latency_us),
	SLOWFS_OPT("--latency-us=%u", read_latency_us),
	SLOWFS_OPT("--write-latency-us=%u", write_latency_us),
	SLOWFS_OPT("--max-background=%u", max_background),
	SLOWFS_OPT("--max-threads=%u", max_threads),
	SLOWFS_OPT("--no-backing-direct", no_backing_direct),
	SLOWFS_OPT("--verbose", verbose),
	FUSE_OPT_KEY("--eio=", KEY_EIO),
	FUSE_OPT_KEY("--short-read=", KEY_SHORT),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_END
};


/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* Path relative to the source directory, for the *at() calls. */
static const char *
relpath(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static bool
is_control(const char *path)
{
	return path != NULL && strcmp(path, CONTROL_PATH) == 0;
}

static inline Handle *
get_handle(struct fuse_file_info *fi)
{
	return fi ? (Handle *) (uintptr_t) fi->fh : NULL;
}

static void
sleep_us(uint64_t us)
{
	struct timespec deadline;

	if (us == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += us / 1000000;
	deadline.tv_nsec += (us % 1000000) * 1000;
	if (deadline.tv_nsec >= 1000000000)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) == EINTR)
		;
}

/*
 * Give a newly created object to the user who asked for it when the daemon
 * runs as root (a non-root daemon creates files as itself, which is what
 * the caller is expected to be).
 */
static void
chown_to_caller(int dirfd, const char *rel, int fd)
{
	struct fuse_context *ctx = fuse_get_context();
	int			rc;

	if (!running_as_root || ctx == NULL)
		return;
	if (fd >= 0)
		rc = fchown(fd, ctx->uid, ctx->gid);
	else
		rc = fchownat(dirfd, rel, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW);
	(void) rc;
}

/*
 * Does SUFFIX name PATH?  "*" matches everything; otherwise PATH must end
 * with SUFFIX and the match must start at a path component boundary, so
 * "16385" matches "/ts/PG_15_x/5/16385" but not ".../116385".
 */
static bool
suffix_matches(const char *suffix, const char *path)
{
	size_t		plen,
				slen;

	if (strcmp(suffix, "*") == 0)
		return true;
	if (path == NULL)
		return false;
	plen = strlen(path);
	slen = strlen(suffix);
	if (slen == 0 || slen > plen)
		return false;
	if (strcmp(path + plen - slen, suffix) != 0)
		return false;
	return suffix[0] == '/' || slen == plen || path[plen - slen - 1] == '/';
}

/*
 * Decide what happens to a read request.  Returns the latency to apply,
 * sets *eio if the request must fail, *limit to the number of bytes it
 * may return and *tear_us to the pause of a torn read (0: none; only for
 * O_DIRECT opens, direct).  Rules with a count are consumed here.
 */
static uint64_t
plan_read(const char *path, uint64_t off, uint64_t size, bool direct,
		  bool *eio, uint64_t *limit, uint64_t *tear_us)
{
	uint64_t	latency;
	int			i;

	*eio = false;
	*limit = size;
	*tear_us = 0;

	pthread_mutex_lock(&config_lock);
	latency = read_latency_us;
	for (i = 0; i < nrules; i++)
	{
		Rule	   *r = &rules[i];
		bool		fire = false;

		if (!suffix_matches(r->suffix, path))
			continue;
		if (r->kind == RULE_EIO)
		{
			uint64_t	end = r->length ? r->offset + r->length : UINT64_MAX;

			if (!*eio && off < end && off + size > r->offset)
			{
				*eio = true;
				fire = true;
			}
		}
		else if (r->kind == RULE_TEAR)
		{
			uint64_t	end = r->length ? r->offset + r->length : UINT64_MAX;

			if (direct && *tear_us == 0 && size > DIO_ALIGN &&
				off < end && off + size > r->offset)
			{
				*tear_us = r->pause_us;
				fire = true;
			}
		}
		else
		{
			if (off <= r->offset && r->offset < off + size)
			{
				uint64_t	lim = r->offset - off + r->maxbytes;

				if (lim < *limit)
				{
					*limit = lim;
					fire = true;
				}
			}
		}
		if (fire)
		{
			r->hits++;
			if (r->remaining > 0 && --r->remaining == 0)
			{
				/* used up: remove it */
				free(r->suffix);
				memmove(r, r + 1, (nrules - i - 1) * sizeof(Rule));
				nrules--;
				i--;
			}
		}
	}
	pthread_mutex_unlock(&config_lock);

	return latency;
}

/* ---------------------------------------------------------------------
 * Rules and the control language
 * ---------------------------------------------------------------------
 */

/* Parse an unsigned decimal number, allowing k/M/G suffixes. */
static bool
parse_u64(const char *s, uint64_t *result)
{
	char	   *end;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char) *s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	switch (*end)
	{
		case 'k':
		case 'K':
			v *= 1024;
			end++;
			break;
		case 'M':
			v *= 1024 * 1024;
			end++;
			break;
		case 'G':
			v *= 1024ULL * 1024 * 1024;
			end++;
			break;
	}
	if (*end != '\0')
		return false;
	*result = v;
	return true;
}

/* Caller holds config_lock (or runs before the filesystem starts). */
static int
add_rule(RuleKind kind, const char *suffix, const char *a1, const char *a2,
		 const char *pause, const char *count, char *err, size_t errlen)
{
	Rule		r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	if (suffix == NULL || *suffix == '\0' || a1 == NULL || a2 == NULL)
	{
		snprintf(err, errlen, "missing argument");
		return -EINVAL;
	}
	if (!parse_u64(a1, &r.offset))
	{
		snprintf(err, errlen, "bad offset \"%s\"", a1);
		return -EINVAL;
	}
	if (!parse_u64(a2, kind == RULE_SHORT ? &r.maxbytes : &r.length))
	{
		snprintf(err, errlen, "bad %s \"%s\"",
				 kind == RULE_SHORT ? "maxbytes" : "length", a2);
		return -EINVAL;
	}
	if (pause != NULL && !parse_u64(pause, &r.pause_us))
	{
		snprintf(err, errlen, "bad pause \"%s\"", pause);
		return -EINVAL;
	}
	if (count != NULL && !parse_u64(count, &r.remaining))
	{
		snprintf(err, errlen, "bad count \"%s\"", count);
		return -EINVAL;
	}
	if (nrules >= MAX_RULES)
	{
		snprintf(err, errlen, "too many rules");
		return -ENOSPC;
	}
	r.suffix = strdup(suffix);
	if (r.suffix == NULL)
		return -ENOMEM;
	rules[nrules++] = r;
	return 0;
}

/* Remove rules of a kind (all kinds if kind < 0), optionally by suffix. */
static void
clear_rules(int kind, const char *suffix)
{
	int			i,
				j = 0;

	for (i = 0; i < nrules; i++)
	{
		if ((kind < 0 || rules[i].kind == (RuleKind) kind) &&
			(suffix == NULL || strcmp(rules[i].suffix, suffix) == 0))
			free(rules[i].suffix);
		else
			rules[j++] = rules[i];
	}
	nrules = j;
}

/*
 * Execute one command line.  Caller holds config_lock.  Returns 0 or a
 * negative errno, with a message in err.
 */
static int
run_command(char *line, char *err, size_t errlen)
{
	char	   *argv[8];
	int			argc = 0;
	char	   *save = NULL;
	char	   *tok;
	uint64_t	v;

	for (tok = strtok_r(line, " \t\r", &save); tok != NULL;
		 tok = strtok_r(NULL, " \t\r", &save))
	{
		if (argc == 8)
		{
			snprintf(err, errlen, "too many words");
			return -EINVAL;
		}
		argv[argc++] = tok;
	}
	if (argc == 0 || argv[0][0] == '#')
		return 0;

	if ((strcmp(argv[0], "latency") == 0 ||
		 strcmp(argv[0], "read-latency") == 0) && argc == 2 &&
		parse_u64(argv[1], &v))
	{
		read_latency_us = v;
		return 0;
	}
	if (strcmp(argv[0], "write-latency") == 0 && argc == 2 &&
		parse_u64(argv[1], &v))
	{
		write_latency_us = v;
		return 0;
	}
	if (strcmp(argv[0], "eio") == 0 || strcmp(argv[0], "short") == 0)
	{
		RuleKind	kind = argv[0][0] == 'e' ? RULE_EIO : RULE_SHORT;

		if (argc >= 2 && strcmp(argv[1], "add") == 0 &&
			(argc == 5 || argc == 6))
			return add_rule(kind, argv[2], argv[3], argv[4], NULL,
							argc == 6 ? argv[5] : NULL, err, errlen);
		if (argc >= 2 && strcmp(argv[1], "clear") == 0 && argc <= 3)
		{
			clear_rules(kind, argc == 3 ? argv[2] : NULL);
			return 0;
		}
	}
	if (strcmp(argv[0], "tear") == 0)
	{
		if (argc >= 2 && strcmp(argv[1], "add") == 0 &&
			(argc == 6 || argc == 7))
			return add_rule(RULE_TEAR, argv[2], argv[3], argv[4], argv[5],
							argc == 7 ? argv[6] : NULL, err, errlen);
		if (argc >= 2 && strcmp(argv[1], "clear") == 0 && argc <= 3)
		{
			clear_rules(RULE_TEAR, argc == 3 ? argv[2] : NULL);
			return 0;
		}
	}
	if (strcmp(argv[0], "clear") == 0 && argc == 1)
	{
		clear_rules(-1, NULL);
		return 0;
	}
	if (strcmp(argv[0], "reset-stats") == 0 && argc == 1)
	{
		__atomic_store_n(&stat_reads, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&stat_read_bytes, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&stat_writes, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&stat_write_bytes, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&stat_eio, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&stat_short, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&stat_tear_reads, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&stat_tear_written, 0, __ATOMIC_RELAXED);
		return 0;
	}
	snprintf(err, errlen, "unknown or malformed command \"%s\"", argv[0]);
	return -EINVAL;
}

/* Run a buffer of newline-separated commands; stop at the first error. */
static int
run_commands(const char *buf, size_t len)
{
	char	   *copy = strndup(buf, len);
	char	   *save = NULL;
	char	   *line;
	char		err[256];
	int			rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&config_lock);
	for (line = strtok_r(copy, "\n;", &save); line != NULL;
		 line = strtok_r(NULL, "\n;", &save))
	{
		err[0] = '\0';
		rc = run_command(line, err, sizeof(err));
		if (rc != 0)
			break;
	}
	pthread_mutex_unlock(&config_lock);
	if (rc != 0)
		fprintf(stderr, "slowfs: control: %s\n", err);
	free(copy);
	return rc;
}

/* Parse --eio=SUFFIX:OFFSET:LENGTH[:COUNT] or --short-read=... */
static int
parse_rule_option(RuleKind kind, const char *spec)
{
	char	   *copy = strdup(spec);
	char	   *fields[4] = {NULL, NULL, NULL, NULL};
	char	   *p = copy;
	int			n = 0;
	char		err[256];
	int			rc;

	if (copy == NULL)
		return -1;
	while (n < 4)
	{
		fields[n++] = p;
		p = strchr(p, ':');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	if (p != NULL || n < 3)
	{
		snprintf(startup_errors, sizeof(startup_errors),
				 "bad rule \"%s\": expected SUFFIX:OFFSET:%s[:COUNT]",
				 spec, kind == RULE_EIO ? "LENGTH" : "MAXBYTES");
		free(copy);
		return -1;
	}
	rc = add_rule(kind, fields[0], fields[1], fields[2], NULL, fields[3],
				  err, sizeof(err));
	if (rc != 0)
		snprintf(startup_errors, sizeof(startup_errors),
				 "bad rule \"%s\": %s", spec, err);
	free(copy);
	return rc == 0 ? 0 : -1;
}

/* Text shown when reading the control file; valid commands plus stats. */
static char *
control_text(size_t *len)
{
	char	   *buf = NULL;
	size_t		size = 0;
	FILE	   *f = open_memstream(&buf, &size);
	int			i;

	if (f == NULL)
		return NULL;
	pthread_mutex_lock(&config_lock);
	fprintf(f, "read-latency %llu\n", (unsigned long long) read_latency_us);
	fprintf(f, "write-latency %llu\n", (unsigned long long) write_latency_us);
	for (i = 0; i < nrules; i++)
	{
		Rule	   *r = &rules[i];

		fprintf(f, "%s add %s %llu %llu",
				r->kind == RULE_EIO ? "eio" : r->kind == RULE_TEAR ? "tear" : "short",
				r->suffix, (unsigned long long) r->offset,
				(unsigned long long) (r->kind == RULE_SHORT ? r->maxbytes : r->length));
		if (r->kind == RULE_TEAR)
			fprintf(f, " %llu", (unsigned long long) r->pause_us);
		if (r->remaining)
			fprintf(f, " %llu", (unsigned long long) r->remaining);
		fprintf(f, "\t# hits %llu\n", (unsigned long long) r->hits);
	}
	pthread_mutex_unlock(&config_lock);
	fprintf(f, "# reads %llu read_bytes %llu writes %llu write_bytes %llu "
			"eio_injected %llu short_injected %llu\n",
			(unsigned long long) __atomic_load_n(&stat_reads, __ATOMIC_RELAXED),
			(unsigned long long) __atomic_load_n(&stat_read_bytes, __ATOMIC_RELAXED),
			(unsigned long long) __atomic_load_n(&stat_writes, __ATOMIC_RELAXED),
			(unsigned long long) __atomic_load_n(&stat_write_bytes, __ATOMIC_RELAXED),
			(unsigned long long) __atomic_load_n(&stat_eio, __ATOMIC_RELAXED),
			(unsigned long long) __atomic_load_n(&stat_short, __ATOMIC_RELAXED));
	fprintf(f, "# tear_reads %llu tear_written %llu\n",
			(unsigned long long) __atomic_load_n(&stat_tear_reads, __ATOMIC_RELAXED),
			(unsigned long long) __atomic_load_n(&stat_tear_written, __ATOMIC_RELAXED));
	fclose(f);
	*len = size;
	return buf;
}

/* ---------------------------------------------------------------------
 * FUSE operations
 * ---------------------------------------------------------------------
 */

static void *
slowfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Keep working with files that are unlinked while open. */
	cfg->hard_remove = 1;
	cfg->nullpath_ok = 1;
	cfg->use_ino = 1;

	/*
	 * Let many async requests (readahead, async direct IO) be queued at
	 * once; the kernel caps this for unprivileged mounts at
	 * /sys/module/fuse/parameters/max_user_bgreq.
	 */
	conn->max_background = options.max_background;
	conn->congestion_threshold = options.max_background * 3 / 4;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* We never want the kernel to cache writes and flush them later. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;

	if (options.verbose)
		fprintf(stderr,
				"slowfs: proto %u.%u max_write %u max_read %u max_readahead %u "
				"max_background %u congestion_threshold %u async_dio %s\n",
				conn->proto_major, conn->proto_minor, conn->max_write,
				conn->max_read, conn->max_readahead, conn->max_background,
				conn->congestion_threshold,
				(conn->want & FUSE_CAP_ASYNC_DIO) ? "on" : "off");
	return NULL;
}

static int
fill_control_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0666;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = 0;
	st->st_blksize = 4096;
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	st->st_atim = st->st_ctim = st->st_mtim;
	return 0;
}

static int
slowfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	int			rc;

	if ((h && h->is_control) || is_control(path))
		return fill_control_stat(st);
	if (h)
		rc = fstat(h->fd, st);
	else
		rc = fstatat(source_fd, relpath(path), st, AT_SYMLINK_NOFOLLOW);
	return rc < 0 ? -errno : 0;
}

static int
slowfs_access(const char *path, int mask)
{
	if (is_control(path))
		return 0;
	return faccessat(source_fd, relpath(path), mask, 0) < 0 ? -errno : 0;
}

static int
slowfs_readlink(const char *path, char *buf, size_t size)
{
	ssize_t		n;

	if (size == 0)
		return -EINVAL;
	n = readlinkat(source_fd, relpath(path), buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
slowfs_opendir(const char *path, struct fuse_file_info *fi)
{
	int			fd;
	DIR		   *dp;

	fd = openat(source_fd, relpath(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (dp == NULL)
	{
		int			save = errno;

		close(fd);
		return -save;
	}
	fi->fh = (uint64_t) (uintptr_t) dp;
	return 0;
}

static int
slowfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
			   off_t offset, struct fuse_file_info *fi,
			   enum fuse_readdir_flags flags)
{
	DIR		   *dp = (DIR *) (uintptr_t) fi->fh;
	struct dirent *de;
	bool		root = path != NULL && strcmp(path, "/") == 0;

	(void) offset;
	(void) flags;

	/*
	 * Fill the whole directory with offset 0: the library keeps the
	 * listing and serves later offsets itself.
	 */
	rewinddir(dp);
	errno = 0;
	while ((de = readdir(dp)) != NULL)
	{
		struct stat st;

		if (root && strcmp(de->d_name, CONTROL_NAME) == 0)
			continue;
		memset(&st, 0, sizeof(st));
		st.st_ino = de->d_ino;
		st.st_mode = DTTOIF(de->d_type);
		if (filler(buf, de->d_name, &st, 0, 0))
			break;
	}
	return errno ? -errno : 0;
}

static int
slowfs_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void) path;
	closedir((DIR *) (uintptr_t) fi->fh);
	return 0;
}

static int
slowfs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	int			fd = dirfd((DIR *) (uintptr_t) fi->fh);

	(void) path;
	if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
		return -errno;
	return 0;
}

static int
slowfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	const char *rel = relpath(path);

	if (is_control(path))
		return -EEXIST;
	if (mknodat(source_fd, rel, mode, rdev) < 0)
		return -errno;
	chown_to_caller(source_fd, rel, -1);
	return 0;
}

static int
slowfs_mkdir(const char *path, mode_t mode)
{
	const char *rel = relpath(path);

	if (is_control(path))
		return -EEXIST;
	if (mkdirat(source_fd, rel, mode) < 0)
		return -errno;
	chown_to_caller(source_fd, rel, -1);
	return 0;
}

static int
slowfs_unlink(const char *path)
{
	if (is_control(path))
		return -EPERM;
	return unlinkat(source_fd, relpath(path), 0) < 0 ? -errno : 0;
}

static int
slowfs_rmdir(const char *path)
{
	return unlinkat(source_fd, relpath(path), AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int
slowfs_symlink(const char *target, const char *path)
{
	const char *rel = relpath(path);

	if (is_control(path))
		return -EEXIST;
	if (symlinkat(target, source_fd, rel) < 0)
		return -errno;
	chown_to_caller(source_fd, rel, -1);
	return 0;
}

static int
slowfs_rename(const char *from, const char *to, unsigned int flags)
{
	if (is_control(from) || is_control(to))
		return -EPERM;
	if (renameat2(source_fd, relpath(from), source_fd, relpath(to), flags) < 0)
		return -errno;
	return 0;
}

static int
slowfs_link(const char *from, const char *to)
{
	if (is_control(from) || is_control(to))
		return -EPERM;
	if (linkat(source_fd, relpath(from), source_fd, relpath(to), 0) < 0)
		return -errno;
	return 0;
}

static int
slowfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	int			rc;

	if ((h && h->is_control) || is_control(path))
		return -EPERM;
	if (h)
		rc = fchmod(h->fd, mode);
	else
		rc = fchmodat(source_fd, relpath(path), mode, 0);
	return rc < 0 ? -errno : 0;
}

static int
slowfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	int			rc;

	if ((h && h->is_control) || is_control(path))
		return -EPERM;
	if (h)
		rc = fchown(h->fd, uid, gid);
	else
		rc = fchownat(source_fd, relpath(path), uid, gid, AT_SYMLINK_NOFOLLOW);
	return rc < 0 ? -errno : 0;
}

static int
slowfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	int			rc;

	/* "echo cmd > control" truncates first: accept and ignore */
	if ((h && h->is_control) || is_control(path))
		return 0;
	if (h)
		rc = ftruncate(h->fd, size);
	else
	{
		int			fd = openat(source_fd, relpath(path), O_WRONLY | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		rc = ftruncate(fd, size);
		if (rc < 0)
		{
			int			save = errno;

			close(fd);
			return -save;
		}
		close(fd);
	}
	return rc < 0 ? -errno : 0;
}

static int
slowfs_utimens(const char *path, const struct timespec tv[2],
			   struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	int			rc;

	if ((h && h->is_control) || is_control(path))
		return 0;
	if (h)
		rc = futimens(h->fd, tv);
	else
		rc = utimensat(source_fd, relpath(path), tv, AT_SYMLINK_NOFOLLOW);
	return rc < 0 ? -errno : 0;
}

/*
 * Open the backing file for a FUSE open/create and set up the handle.
 */
static int
open_backing(const char *path, struct fuse_file_info *fi, bool create,
			 mode_t mode)
{
	const char *rel = relpath(path);
	int			flags = fi->flags | O_CLOEXEC;
	bool		want_direct = (fi->flags & O_DIRECT) != 0;
	Handle	   *h;
	int			fd;

	if (is_control(path))
	{
		fi->fh = (uint64_t) (uintptr_t) &control_handle;
		fi->direct_io = 1;
		fi->nonseekable = 0;
		return 0;
	}

	flags &= ~O_DIRECT;
	if (create)
		flags |= O_CREAT;
	fd = -1;
	if (want_direct && backing_direct)
	{
		fd = openat(source_fd, rel, flags | O_DIRECT, mode);
		if (fd < 0 && errno != EINVAL)
			return -errno;
		/* EINVAL: backing filesystem refuses O_DIRECT; go buffered */
	}
	if (fd < 0)
	{
		fd = openat(source_fd, rel, flags, mode);
		if (fd < 0)
			return -errno;
	}
	if (create)
		chown_to_caller(source_fd, rel, fd);

	h = calloc(1, sizeof(Handle));
	if (h == NULL || (h->path = strdup(path)) == NULL)
	{
		free(h);
		close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	h->direct = (fcntl(fd, F_GETFL) & O_DIRECT) != 0;
	h->caller_direct = want_direct;
	fi->fh = (uint64_t) (uintptr_t) h;

	/*
	 * O_DIRECT callers get FOPEN_DIRECT_IO: every read is a FUSE request,
	 * and concurrent async reads stay concurrent.  Others use the page
	 * cache, which we keep across opens as a local filesystem would (all
	 * changes go through this mount).
	 */
	if (want_direct)
		fi->direct_io = 1;
	else
		fi->keep_cache = 1;
	return 0;
}

static int
slowfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return open_backing(path, fi, true, mode);
}

static int
slowfs_open(const char *path, struct fuse_file_info *fi)
{
	return open_backing(path, fi, false, 0);
}

/*
 * The backing fd is O_DIRECT but this request is not aligned for it (the
 * kernel does not enforce alignment for FUSE direct IO): drop O_DIRECT on
 * this descriptor for good and let the caller retry.
 */
static bool
drop_backing_direct(Handle *h)
{
	int			fl = fcntl(h->fd, F_GETFL);

	if (fl < 0 || !(fl & O_DIRECT))
		return false;
	if (fcntl(h->fd, F_SETFL, fl & ~O_DIRECT) < 0)
		return false;
	h->direct = false;
	return true;
}

static int
control_read(char *buf, size_t size, off_t off)
{
	size_t		len;
	char	   *text = control_text(&len);

	if (text == NULL)
		return -ENOMEM;
	if ((size_t) off >= len)
		len = 0;
	else
	{
		len -= off;
		if (len > size)
			len = size;
		memcpy(buf, text + off, len);
	}
	free(text);
	return (int) len;
}

/* A torn read enters its pause: register it, so that writes can see it. */
static int
pause_begin(const char *path, uint64_t off, uint64_t len)
{
	int			slot = -1;

	__atomic_fetch_add(&stat_tear_reads, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&pause_lock);
	for (int i = 0; i < MAX_PAUSES && slot < 0; i++)
	{
		if (pauses[i].path == NULL)
		{
			pauses[i] = (Pause) {path, off, len, false};
			slot = i;
		}
	}
	pthread_mutex_unlock(&pause_lock);
	return slot;
}

/* The torn read has read its second half: was its range written meanwhile? */
static void
pause_end(int slot)
{
	bool		written;

	pthread_mutex_lock(&pause_lock);
	written = pauses[slot].written;
	pauses[slot].path = NULL;
	pthread_mutex_unlock(&pause_lock);
	if (written)
		__atomic_fetch_add(&stat_tear_written, 1, __ATOMIC_RELAXED);
}

/* A write landed: mark the torn reads in their pause that it overlaps. */
static void
pause_note_write(const char *path, uint64_t off, uint64_t len)
{
	pthread_mutex_lock(&pause_lock);
	for (int i = 0; i < MAX_PAUSES; i++)
	{
		if (pauses[i].path != NULL && off < pauses[i].off + pauses[i].len &&
			pauses[i].off < off + len && strcmp(pauses[i].path, path) == 0)
			pauses[i].written = true;
	}
	pthread_mutex_unlock(&pause_lock);
}

static int
slowfs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size,
				off_t off, struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	struct fuse_bufvec *bv;
	void	   *mem = NULL;
	size_t		done = 0;
	uint64_t	latency,
				limit,
				tear_us;
	size_t		stop;
	int			pause = -1;
	bool		eio;

	bv = malloc(sizeof(struct fuse_bufvec));
	if (bv == NULL)
		return -ENOMEM;
	if (posix_memalign(&mem, DIO_ALIGN, size ? size : 1) != 0)
	{
		free(bv);
		return -ENOMEM;
	}

	if (h->is_control)
	{
		int			n = control_read(mem, size, off);

		if (n < 0)
		{
			free(mem);
			free(bv);
			return n;
		}
		done = n;
		goto out;
	}

	latency = plan_read(path ? path : h->path, off, size, h->caller_direct,
						&eio, &limit, &tear_us);
	sleep_us(latency);
	__atomic_fetch_add(&stat_reads, 1, __ATOMIC_RELAXED);
	if (eio)
	{
		__atomic_fetch_add(&stat_eio, 1, __ATOMIC_RELAXED);
		free(mem);
		free(bv);
		return -EIO;
	}

	/* a torn read stops half way, pauses, then reads the rest */
	stop = tear_us > 0 ? (size / 2) / DIO_ALIGN * DIO_ALIGN : size;
	for (;;)
	{
		while (done < stop)
		{
			ssize_t		n = pread(h->fd, (char *) mem + done, stop - done, off + done);

			if (n < 0)
			{
				int			save = errno;

				if (save == EINTR)
					continue;
				if (save == EINVAL && h->direct && drop_backing_direct(h))
					continue;
				if (pause >= 0)
					pause_end(pause);
				free(mem);
				free(bv);
				return -save;
			}
			if (n == 0)
				break;
			done += n;
		}
		if (stop == size || done < stop)
			break;
		pause = pause_begin(h->path, off, size);
		sleep_us(tear_us);
		stop = size;
	}
	if (pause >= 0)
		pause_end(pause);
	if (done > limit)
	{
		done = limit;
		__atomic_fetch_add(&stat_short, 1, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&stat_read_bytes, done, __ATOMIC_RELAXED);

out:
	*bv = (struct fuse_bufvec) FUSE_BUFVEC_INIT(done);
	bv->buf[0].mem = mem;
	*bufp = bv;
	return 0;
}

static int
slowfs_write(const char *path, const char *buf, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	const char *src = buf;
	void	   *bounce = NULL;
	size_t		done = 0;
	uint64_t	latency;

	(void) path;
	if (h->is_control)
	{
		int			rc = run_commands(buf, size);

		return rc < 0 ? rc : (int) size;
	}

	pthread_mutex_lock(&config_lock);
	latency = write_latency_us;
	pthread_mutex_unlock(&config_lock);
	sleep_us(latency);

	/* O_DIRECT needs an aligned buffer; the request buffer is not */
	if (h->direct && ((uintptr_t) buf % DIO_ALIGN) != 0)
	{
		if (posix_memalign(&bounce, DIO_ALIGN, size ? size : 1) != 0)
			return -ENOMEM;
		memcpy(bounce, buf, size);
		src = bounce;
	}
	while (done < size)
	{
		ssize_t		n = pwrite(h->fd, src + done, size - done, off + done);

		if (n < 0)
		{
			int			save = errno;

			if (save == EINTR)
				continue;
			if (save == EINVAL && h->direct && drop_backing_direct(h))
				continue;
			free(bounce);
			return done > 0 ? (int) done : -save;
		}
		done += n;
	}
	free(bounce);
	pause_note_write(h->path, off, done);
	__atomic_fetch_add(&stat_writes, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&stat_write_bytes, done, __ATOMIC_RELAXED);
	return (int) done;
}

static int
slowfs_statfs(const char *path, struct statvfs *st)
{
	(void) path;
	return fstatvfs(source_fd, st) < 0 ? -errno : 0;
}

static int
slowfs_flush(const char *path, struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	int			fd;

	(void) path;
	if (h->is_control)
		return 0;
	/* report errors a close() of the backing file would report */
	fd = dup(h->fd);
	if (fd < 0)
		return -errno;
	return close(fd) < 0 ? -errno : 0;
}

static int
slowfs_release(const char *path, struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);

	(void) path;
	if (h->is_control)
		return 0;
	close(h->fd);
	free(h->path);
	free(h);
	return 0;
}

static int
slowfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);

	(void) path;
	if (h->is_control)
		return 0;
	if ((datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0)
		return -errno;
	return 0;
}

static int
slowfs_fallocate(const char *path, int mode, off_t off, off_t len,
				 struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);

	(void) path;
	if (h == NULL || h->is_control)
		return -EOPNOTSUPP;
	return fallocate(h->fd, mode, off, len) < 0 ? -errno : 0;
}

static off_t
slowfs_lseek(const char *path, off_t off, int whence,
			 struct fuse_file_info *fi)
{
	Handle	   *h = get_handle(fi);
	off_t		res;

	(void) path;
	if (h == NULL || h->is_control)
		return -ESPIPE;
	res = lseek(h->fd, off, whence);
	return res < 0 ? -errno : res;
}

static const struct fuse_operations slowfs_ops = {
	.init = slowfs_init,
	.getattr = slowfs_getattr,
	.access = slowfs_access,
	.readlink = slowfs_readlink,
	.opendir = slowfs_opendir,
	.readdir = slowfs_readdir,
	.releasedir = slowfs_releasedir,
	.fsyncdir = slowfs_fsyncdir,
	.mknod = slowfs_mknod,
	.mkdir = slowfs_mkdir,
	.unlink = slowfs_unlink,
	.rmdir = slowfs_rmdir,
	.symlink = slowfs_symlink,
	.rename = slowfs_rename,
	.link = slowfs_link,
	.chmod = slowfs_chmod,
	.chown = slowfs_chown,
	.truncate = slowfs_truncate,
	.utimens = slowfs_utimens,
	.create = slowfs_create,
	.open = slowfs_open,
	.read_buf = slowfs_read_buf,
	.write = slowfs_write,
	.statfs = slowfs_statfs,
	.flush = slowfs_flush,
	.release = slowfs_release,
	.fsync = slowfs_fsync,
	.fallocate = slowfs_fallocate,
	.lseek = slowfs_lseek,
};

/* ---------------------------------------------------------------------
 * Command line
 * ---------------------------------------------------------------------
 */

static void
usage(FILE *f, const char *progname)
{
	fprintf(f,
			"usage: %s [options] SOURCE_DIR MOUNTPOINT\n"
			"\n"
			"Mirror SOURCE_DIR at MOUNTPOINT with slow reads and injected faults.\n"
			"\n"
			"slowfs options:\n"
			"    --read-latency-us=N    sleep N microseconds in every read request (default 0)\n"
			"    --latency-us=N         same as --read-latency-us\n"
			"    --write-latency-us=N   sleep N microseconds in every write request (default 0)\n"
			"    --eio=SUFFIX:OFFSET:LENGTH[:COUNT]\n"
			"                           fail reads of files whose path ends in SUFFIX that\n"
			"                           overlap bytes [OFFSET, OFFSET+LENGTH) with EIO\n"
			"                           (LENGTH 0: to end of file; COUNT: only that many\n"
			"                           times); repeatable\n"
			"    --short-read=SUFFIX:OFFSET:MAXBYTES[:COUNT]\n"
			"                           a read covering byte OFFSET returns data only up to\n"
			"                           OFFSET+MAXBYTES (fewer bytes than asked); repeatable\n"
			"    --max-background=N     kernel queue of async requests (default 256)\n"
			"    --max-threads=N        daemon worker threads (default 256; sleeping\n"
			"                           requests each hold one)\n"
			"    --no-backing-direct    do not open backing files with O_DIRECT\n"
			"    --verbose              print negotiated FUSE parameters\n"
			"    -h, --help             print this help and the FUSE options\n"
			"\n"
			"SUFFIX matches whole trailing path components relative to the mount\n"
			"(\"16385\", \"5/16385.1\", \"/ts/x\"); \"*\" matches every file.  Numbers take\n"
			"k, M, G suffixes.\n"
			"\n"
			"Runtime control: write commands to MOUNTPOINT/" CONTROL_NAME ", read it for\n"
			"the current settings and counters:\n"
			"    latency US | read-latency US | write-latency US\n"
			"    eio add SUFFIX OFFSET LENGTH [COUNT] | eio clear [SUFFIX]\n"
			"    short add SUFFIX OFFSET MAXBYTES [COUNT] | short clear [SUFFIX]\n"
			"    clear | reset-stats\n"
			"\n"
			"Defaults added before your own -o options: -o default_permissions,\n"
			"fsname=slowfs, subtype=slowfs, entry_timeout=0, attr_timeout=0,\n"
			"negative_timeout=0.  Use -f to stay in the foreground; -o allow_other needs\n"
			"user_allow_other in /etc/fuse.conf when not run as root.  Do not use -s:\n"
			"a single-threaded daemon serializes the latency.\n",
			progname);
}

static int
opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	Options    *o = data;

	(void) outargs;
	switch (key)
	{
		case KEY_EIO:
			return parse_rule_option(RULE_EIO, arg + strlen("--eio=")) < 0 ? -1 : 0;
		case KEY_SHORT:
			return parse_rule_option(RULE_SHORT, arg + strlen("--short-read=")) < 0 ? -1 : 0;
		case KEY_HELP:
			o->show_help = 1;
			return 0;
		case FUSE_OPT_KEY_NONOPT:
			o->nonopts++;
			if (o->nonopts == 1)
			{
				o->source = strdup(arg);
				return 0;		/* ours, not FUSE's */
			}
			return 1;			/* mountpoint and anything else: FUSE's */
		default:
			if (strncmp(arg, "--", 2) == 0)
			{
				snprintf(startup_errors, sizeof(startup_errors),
						 "unknown option \"%s\"", arg);
				return -1;
			}
			return 1;
	}
}

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	char		buf[64];
	int			rc;

	options.max_background = 256;
	options.max_threads = 256;

	if (fuse_opt_parse(&args, &options, slowfs_opts, opt_proc) != 0)
	{
		fprintf(stderr, "%s: %s\n", argv[0],
				startup_errors[0] ? startup_errors : "cannot parse options");
		fprintf(stderr, "Try \"%s --help\".\n", argv[0]);
		return 2;
	}
	if (options.show_help)
	{
		usage(stdout, argv[0]);
		printf("\nFUSE options:\n");
		fflush(stdout);
		fuse_cmdline_help();
		fuse_lib_help(&args);
		return 0;
	}
	if (options.nonopts != 2)
	{
		usage(stderr, argv[0]);
		return 2;
	}

	source_dir = options.source;
	source_fd = open(source_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (source_fd < 0)
	{
		fprintf(stderr, "%s: cannot open source directory \"%s\": %s\n",
				argv[0], source_dir, strerror(errno));
		return 1;
	}
	read_latency_us = options.read_latency_us;
	write_latency_us = options.write_latency_us;
	backing_direct = !options.no_backing_direct;
	running_as_root = geteuid() == 0;
	if (options.max_background == 0)
		options.max_background = 1;

	/* The kernel has applied the caller's umask already. */
	umask(0);

	/*
	 * Our defaults go first so that the user's own -o options, parsed
	 * later, override them.
	 */
	/* (max_idle_threads too: libfuse 3.14 warns about its own default) */
	snprintf(buf, sizeof(buf), "-omax_threads=%u,max_idle_threads=%u",
			 options.max_threads, options.max_threads);
	if (fuse_opt_insert_arg(&args, 1, buf) != 0 ||
		fuse_opt_insert_arg(&args, 1,
							"-odefault_permissions,fsname=slowfs,subtype=slowfs,"
							"entry_timeout=0,attr_timeout=0,negative_timeout=0") != 0)
	{
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return 1;
	}

	rc = fuse_main(args.argc, args.argv, &slowfs_ops, NULL);
	fuse_opt_free_args(&args);
	return rc;
}
