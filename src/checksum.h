/*-------------------------------------------------------------------------
 *
 * checksum.h
 *	  Page checksums of the blocks read outside shared buffers
 *	  (checksum.c).
 *
 * IDENTIFICATION
 *	  src/checksum.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ASYNCSCAN_CHECKSUM_H
#define ASYNCSCAN_CHECKSUM_H

#include "storage/block.h"

/*
 * The server's page checksum (pg_checksum_page: same algorithm, same
 * result), computed with the widest vector instructions this CPU has.
 * Like pg_checksum_page it zeroes pd_checksum while it works, so the page
 * must be private to the caller.
 */
extern uint16 asyncscan_checksum_page(char *page, BlockNumber blkno);

#endif							/* ASYNCSCAN_CHECKSUM_H */
