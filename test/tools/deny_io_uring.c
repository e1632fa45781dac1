/*-------------------------------------------------------------------------
 *
 * deny_io_uring.c
 *	  Run a command under a seccomp filter that refuses io_uring_setup()
 *	  with EPERM, as container runtimes' default profiles do.
 *
 *	  usage: deny_io_uring command [args...]
 *
 * The filter is inherited by every process the command starts, so a
 * postmaster started through it has no io_uring in any backend.  Used by
 * the TAP test of pg_asyncscan's io_uring refusal; needs no privileges
 * (PR_SET_NO_NEW_PRIVS).
 *
 * IDENTIFICATION
 *	  test/tools/deny_io_uring.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

int
main(int argc, char **argv)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s command [args...]\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
	{
		fprintf(stderr, "%s: cannot install seccomp filter: %s\n",
				argv[0], strerror(errno));
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "%s: cannot run %s: %s\n", argv[0], argv[1], strerror(errno));
	return 127;
}
