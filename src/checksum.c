/*-------------------------------------------------------------------------
 *
 * checksum.c
 *	  Page checksums of the blocks read outside shared buffers.
 *
 * Every block a scan reads directly has its checksum verified by the scan
 * (or by the IO worker that read it), a cost a Seq Scan pays inside
 * ReadBuffer.  The algorithm (storage/checksum_impl.h) is written to be
 * vectorised: 32 independent sums of 32-bit multiplies.  Distribution
 * packages build the server for the oldest x86-64, whose SSE2 has no
 * 32-bit vector multiply, so the server's pg_checksum_page spends about
 * four times as long on a page as the same code compiled for AVX2 (which
 * CPUs have had since 2013).  This file compiles the server's own
 * implementation a second time, for AVX2, and uses it when the CPU has
 * AVX2; otherwise the server's function.  Both are one algorithm from one
 * header, so they agree on every page.
 *
 * IDENTIFICATION
 *	  src/checksum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/bufpage.h"
#include "storage/checksum.h"

#include "checksum.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CHECKSUM_HAVE_AVX2
#endif

#ifdef CHECKSUM_HAVE_AVX2

/* the implementation's one extern function, renamed and kept in this file */
static uint16 checksum_page_avx2(char *page, BlockNumber blkno);

#define pg_checksum_page checksum_page_avx2
#if defined(__clang__)
#pragma clang attribute push (__attribute__((target("avx2"))), apply_to = function)
#include "storage/checksum_impl.h"
#pragma clang attribute pop
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#include "storage/checksum_impl.h"
#pragma GCC pop_options
#endif
#undef pg_checksum_page

#endif							/* CHECKSUM_HAVE_AVX2 */

typedef uint16 (*checksum_page_function) (char *page, BlockNumber blkno);

/* chosen on the first call of this process */
static checksum_page_function checksum_page = NULL;

static checksum_page_function
choose_checksum_page(void)
{
#ifdef CHECKSUM_HAVE_AVX2
	if (__builtin_cpu_supports("avx2"))
		return checksum_page_avx2;
#endif
	return pg_checksum_page;
}

uint16
asyncscan_checksum_page(char *page, BlockNumber blkno)
{
	if (unlikely(checksum_page == NULL))
		checksum_page = choose_checksum_page();
	return checksum_page(page, blkno);
}
