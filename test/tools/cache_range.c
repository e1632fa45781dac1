/*-------------------------------------------------------------------------
 *
 * cache_range.c
 *	  Put exactly one byte range of a file into the OS page cache, without
 *	  the kernel's readahead, and print which 4 kB pages of a window
 *	  around it the page cache holds.
 *
 *	  usage: cache_range FILE OFFSET LENGTH [WINDOW_OFFSET WINDOW_LENGTH]
 *
 * The file is read through a descriptor advised POSIX_FADV_RANDOM, which
 * turns readahead off for it, so the page cache gains the pages of
 * [OFFSET, OFFSET+LENGTH) and nothing around them.  Then mincore() on a
 * read-only mapping of the window (default: the range itself) prints one
 * character per OS page, 1 for cached, 0 for not.  Used by
 * test/t/052_direct_page_checks.pl to leave half of a block in the page
 * cache, the state in which a direct_io read must not combine a copy of
 * one half with an O_DIRECT read of the other.
 *
 * IDENTIFICATION
 *	  test/tools/cache_range.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	long		page = sysconf(_SC_PAGESIZE);
	off_t		offset,
				woffset;
	size_t		length,
				wlength;
	char	   *buf;
	unsigned char *vec;
	char	   *map;
	int			fd;

	if (argc != 4 && argc != 6)
	{
		fprintf(stderr, "usage: %s FILE OFFSET LENGTH [WINDOW_OFFSET WINDOW_LENGTH]\n",
				argv[0]);
		return 2;
	}
	offset = strtoll(argv[2], NULL, 10);
	length = strtoull(argv[3], NULL, 10);
	woffset = argc == 6 ? strtoll(argv[4], NULL, 10) : offset;
	wlength = argc == 6 ? strtoull(argv[5], NULL, 10) : length;
	if (offset % page != 0 || length % page != 0 || woffset % page != 0 ||
		wlength % page != 0 || length == 0 || wlength == 0)
	{
		fprintf(stderr, "%s: offsets and lengths must be whole pages of %ld bytes\n",
				argv[0], page);
		return 2;
	}

	fd = open(argv[1], O_RDONLY);
	if (fd < 0)
	{
		fprintf(stderr, "%s: cannot open %s: %s\n", argv[0], argv[1], strerror(errno));
		return 1;
	}
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (errno != 0)
	{
		fprintf(stderr, "%s: posix_fadvise: %s\n", argv[0], strerror(errno));
		return 1;
	}
	buf = malloc(length);
	if (buf == NULL || pread(fd, buf, length, offset) != (ssize_t) length)
	{
		fprintf(stderr, "%s: cannot read %zu bytes at %lld\n", argv[0], length,
				(long long) offset);
		return 1;
	}

	map = mmap(NULL, wlength, PROT_READ, MAP_SHARED, fd, woffset);
	vec = malloc(wlength / page);
	if (map == MAP_FAILED || vec == NULL || mincore(map, wlength, vec) != 0)
	{
		fprintf(stderr, "%s: mincore: %s\n", argv[0], strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < wlength / page; i++)
		putchar((vec[i] & 1) ? '1' : '0');
	putchar('\n');
	return 0;
}
