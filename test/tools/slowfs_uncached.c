/*-------------------------------------------------------------------------
 *
 * slowfs_uncached.c
 *	  slowfs (slowfs.c) with every file served without the kernel's page
 *	  cache, for plain (not O_DIRECT) reads too.
 *
 * slowfs keeps the page cache for plain opens, as a local file system
 * does; there the kernel does not pass a short FUSE reply on to the reader
 * as a short read (it takes it as the end of the file: test/tools/README.md,
 * "Fault rules").  Built from this file, slowfs sets libfuse's direct_io
 * configuration (struct fuse_config), so that every open gets
 * FOPEN_DIRECT_IO: each read(2) is one FUSE request and its reply, short
 * or not, is what the reader gets, as on network file systems.  Everything
 * else (options, rules, control file) is slowfs.c's.  libfuse 3.14 takes
 * direct_io only from the file system's init(), not from "-o"; this file
 * wraps slowfs's init() without changing slowfs.c.
 *
 *	  build: cc -O2 -Wall -Wextra -Werror $(pkg-config --cflags fuse3) \
 *				-o slowfs_uncached slowfs_uncached.c \
 *				$(pkg-config --libs fuse3) -lpthread
 *
 * IDENTIFICATION
 *	  test/tools/slowfs_uncached.c
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 312

#include <fuse.h>

static int	uncached_main(int argc, char *argv[],
						  const struct fuse_operations *op, void *data);

/* slowfs.c's main() calls fuse_main(): send it to uncached_main() */
#undef fuse_main
#define fuse_main(argc, argv, op, data) uncached_main(argc, argv, op, data)

#include "slowfs.c"

static void *(*slowfs_init_fn) (struct fuse_conn_info *conn,
								struct fuse_config *cfg);

static void *
uncached_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	void	   *result = slowfs_init_fn ? slowfs_init_fn(conn, cfg) : NULL;

	cfg->direct_io = 1;
	return result;
}

static int
uncached_main(int argc, char *argv[], const struct fuse_operations *op,
			  void *data)
{
	static struct fuse_operations ops;

	ops = *op;
	slowfs_init_fn = ops.init;
	ops.init = uncached_init;
	return fuse_main_real(argc, argv, &ops, sizeof(ops), data);
}
