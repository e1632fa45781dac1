#!/bin/bash
#
# slowfs_test.sh
#	  Self-test of test/tools/slowfs.c: builds it into a temporary
#	  directory, mounts a temporary source directory and checks the
#	  passthrough, the read latency (and that concurrent requests overlap
#	  it), EIO and short-read injection with runtime control, and a clean
#	  unmount.
#
#	  usage: test/tools/slowfs_test.sh
#
# Needs fuse3, libfuse3-dev, a C compiler and access to /dev/fuse (run as
# root, or as a user who can read and write /dev/fuse).  Prints PASS/FAIL
# lines and "N passed, M failed"; exits 1 if anything failed, 77 if the
# prerequisites are missing.  Takes a few seconds.
#
# IDENTIFICATION
#	  test/tools/slowfs_test.sh
#

set -u

here=$(cd "$(dirname "$0")" && pwd)
pass=0
fail=0
pid=

ok()   { echo "PASS: $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL: $1"; fail=$((fail + 1)); }
check()
{
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else bad "$desc"; fi
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
sum()    { sha256sum < "$1" | cut -d' ' -f1; }

for prog in cc pkg-config fusermount3 mountpoint dd sha256sum; do
	if ! command -v $prog >/dev/null; then
		echo "SKIP: $prog not found"
		exit 77
	fi
done
if ! pkg-config --exists fuse3 || [ ! -r /dev/fuse ] || [ ! -w /dev/fuse ]; then
	echo "SKIP: need libfuse3-dev and read/write access to /dev/fuse"
	exit 77
fi

work=$(mktemp -d /tmp/slowfs-test.XXXXXX)
src=$work/src
mnt=$work/mnt
ctlfile=$mnt/.slowfs_control
mkdir -p "$src" "$mnt"

unmount()
{
	if mountpoint -q "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt"
	fi
	if [ -n "$pid" ]; then
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid"
			return 1
		fi
		wait "$pid" 2>/dev/null
		pid=
	fi
	return 0
}

cleanup()
{
	exec 7<&- 2>/dev/null
	unmount
	rm -rf "$work"
}
trap cleanup EXIT

# mount [slowfs options...]: start the daemon in the foreground, wait for it
mount_slowfs()
{
	"$work/slowfs" -f "$@" "$src" "$mnt" 2>>"$work/slowfs.log" &
	pid=$!
	for _ in $(seq 50); do
		mountpoint -q "$mnt" && return 0
		sleep 0.1
	done
	return 1
}

ctl() { printf '%s\n' "$@" > "$ctlfile"; }

# ------------------------------------------------------------------
# build
# ------------------------------------------------------------------
if cc -O2 -Wall -Wextra -Werror $(pkg-config --cflags fuse3) \
	-o "$work/slowfs" "$here/slowfs.c" $(pkg-config --libs fuse3) -lpthread; then
	ok "build slowfs"
else
	bad "build slowfs"
	echo "0 passed, 1 failed"
	exit 1
fi

# A small helper: O_DIRECT pread that prints the byte count, and N threads
# each reading one block with O_DIRECT at once, printing the elapsed ms.
cat > "$work/probe.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *path;
static size_t bs;
static pthread_barrier_t barrier;
static int nerrors;

static void *
reader(void *arg)
{
	void	   *buf = NULL;
	int			fd = open(path, O_RDONLY | O_DIRECT);
	int			okay = fd >= 0 && posix_memalign(&buf, 4096, bs) == 0;

	pthread_barrier_wait(&barrier);
	if (!okay || pread(fd, buf, bs, (off_t) (long) arg * bs) != (ssize_t) bs)
		__atomic_fetch_add(&nerrors, 1, __ATOMIC_RELAXED);
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	void	   *buf;
	ssize_t		n;
	long		i, nthreads;
	pthread_t  *th;
	int			fd;

	if (argc != 5)
		return 2;
	path = argv[2];
	bs = strtoul(argv[4], NULL, 10);
	if (strcmp(argv[1], "pread") == 0)
	{
		fd = open(path, O_RDONLY | O_DIRECT);
		if (fd < 0 || posix_memalign(&buf, 4096, bs) != 0)
		{
			printf("error: %s\n", strerror(errno));
			return 1;
		}
		n = pread(fd, buf, bs, strtoll(argv[3], NULL, 10));
		if (n < 0)
		{
			printf("error: %s\n", strerror(errno));
			return 1;
		}
		printf("%zd\n", n);
		return 0;
	}
	nthreads = strtol(argv[3], NULL, 10);
	th = calloc(nthreads, sizeof(pthread_t));
	pthread_barrier_init(&barrier, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, reader, (void *) i);
	pthread_barrier_wait(&barrier);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%ld\n", (t1.tv_sec - t0.tv_sec) * 1000 +
		   (t1.tv_nsec - t0.tv_nsec) / 1000000);
	return nerrors ? 1 : 0;
}
EOF
if ! cc -O2 -o "$work/probe" "$work/probe.c" -lpthread; then
	bad "build probe helper"
	echo "$pass passed, $fail failed"
	exit 1
fi
probe() { "$work/probe" "$@"; }

# ------------------------------------------------------------------
# (a) passthrough
# ------------------------------------------------------------------
if mount_slowfs; then ok "mount"; else bad "mount"; cat "$work/slowfs.log"; echo "$pass passed, $fail failed"; exit 1; fi

dd if=/dev/urandom of="$work/data" bs=64k count=16 status=none
ref=$(sum "$work/data")

cp "$work/data" "$mnt/f1"
check "buffered write round-trips (mount, backing)" \
	test "$(sum "$mnt/f1")" = "$ref" -a "$(sum "$src/f1")" = "$ref"

dd if="$work/data" of="$mnt/f2" bs=64k oflag=direct conv=fsync status=none
check "O_DIRECT write round-trips" test "$(sum "$src/f2")" = "$ref"
check "O_DIRECT read round-trips" \
	test "$(dd if="$mnt/f2" bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1)" = "$ref"

# unaligned O_DIRECT write (FUSE passes it on; slowfs must cope)
cp "$work/data" "$work/expect"
printf 'hello' | dd of="$work/expect" bs=1 seek=1000 conv=notrunc status=none
printf 'hello' | dd of="$mnt/f2" bs=1 seek=1000 oflag=direct conv=notrunc status=none
check "unaligned O_DIRECT write" test "$(sum "$src/f2")" = "$(sum "$work/expect")"

mv "$mnt/f1" "$mnt/f1r"
check "rename" test -e "$src/f1r" -a ! -e "$src/f1" -a "$(sum "$mnt/f1r")" = "$ref"
rm "$mnt/f1r"
check "unlink" test ! -e "$src/f1r" -a ! -e "$mnt/f1r"

mkdir "$mnt/d"
echo data > "$mnt/d/x"
exec 7<"$mnt/d/x"
rm "$mnt/d/x"
# (read(2) works on the open file; stat(2) of it would fail with ESTALE)
IFS= read -r line <&7
check "read an unlinked open file" test "$line" = data
check "rmdir while an unlinked file is open" rmdir "$mnt/d"
exec 7<&-

truncate -s 1000 "$mnt/f2"
check "truncate" test "$(stat -c %s "$src/f2")" = 1000 -a "$(stat -c %s "$mnt/f2")" = 1000
chmod 640 "$mnt/f2"
check "chmod" test "$(stat -c %a "$src/f2")" = 640
touch -d '2001-02-03 04:05:06' "$mnt/f2"
check "utimens" test "$(stat -c %Y "$src/f2")" = "$(date -d '2001-02-03 04:05:06' +%s)"
ln -s f2 "$mnt/sl" && ln "$mnt/f2" "$mnt/hl"
check "symlink and hard link" \
	test "$(readlink "$mnt/sl")" = f2 -a "$(stat -c %h "$src/f2")" = 2 \
	-a "$(sum "$mnt/sl")" = "$(sum "$src/f2")"
if command -v fallocate >/dev/null; then
	check "fallocate" fallocate -l 1M "$mnt/fa"
	check "fallocate size" test "$(stat -c %s "$src/fa")" = 1048576
fi
check "fsync, fdatasync" bash -c "sync '$mnt/f2' && sync -d '$mnt/f2'"
check "statfs" df "$mnt" >/dev/null
check "readdir" test "$(ls -a "$mnt" | sort | tr '\n' ' ')" = "$(ls -a "$src" | sort | tr '\n' ' ')"
check "control file readable, hidden from readdir" grep -q '^read-latency 0$' "$ctlfile"
check "bad control command is refused" bash -c "! printf 'bogus 1\n' > '$ctlfile' 2>/dev/null"

# ------------------------------------------------------------------
# (b) latency, sequential vs concurrent
# ------------------------------------------------------------------
lat_ms=100
dd if=/dev/urandom of="$src/lat" bs=8k count=64 status=none
lat_sum=$(sum "$src/lat")
ctl "latency $((lat_ms * 1000))" "reset-stats"

t0=$(now_ms)
dd if="$mnt/lat" of=/dev/null bs=8k count=20 iflag=direct status=none
seq_ms=$(( $(now_ms) - t0 ))
check "20 sequential O_DIRECT reads take >= 20 x ${lat_ms}ms (${seq_ms}ms)" \
	test $seq_ms -ge $((20 * lat_ms))

# 20 dd processes at once, each reading one block: what counts is the
# reads' time, not starting 20 processes (over a second on a busy
# machine), so the same 20 processes are first timed reading nothing
concurrent_dd()	# concurrent_dd COUNT: print the milliseconds it took
{
	local i t0 pids=()

	t0=$(now_ms)
	for i in $(seq 0 19); do
		dd if="$mnt/lat" of=/dev/null bs=8k skip=$i count=$1 iflag=direct status=none &
		pids+=($!)
	done
	wait "${pids[@]}"
	echo $(( $(now_ms) - t0 ))
}
spawn_ms=$(concurrent_dd 0)
conc_ms=$(concurrent_dd 1)
check "20 concurrent dd O_DIRECT reads take < 10 x ${lat_ms}ms (${conc_ms}ms, of which starting the processes ${spawn_ms}ms)" \
	test $((conc_ms - spawn_ms)) -lt $((10 * lat_ms))

thr_ms=$(probe concurrent "$mnt/lat" 20 8192)
check "20 concurrent threads' O_DIRECT reads take < 3 x ${lat_ms}ms (${thr_ms}ms)" \
	test -n "$thr_ms" -a "${thr_ms:-999999}" -lt $((3 * lat_ms)) -a "${thr_ms:-0}" -ge $lat_ms
check "read counter counts the requests" grep -q '^# reads 60 ' "$ctlfile"

ctl "latency 0"
t0=$(now_ms)
dd if="$mnt/lat" of=/dev/null bs=8k count=20 iflag=direct status=none
fast_ms=$(( $(now_ms) - t0 ))
check "latency changed at run time (${fast_ms}ms)" test $fast_ms -lt $((5 * lat_ms))

# ------------------------------------------------------------------
# (c) EIO injection
# ------------------------------------------------------------------
dd if=/dev/urandom of="$src/rel" bs=8k count=32 status=none
ctl "eio add rel 81920 8192"		# block 10

ddread()	# ddread FILE BLOCK [dd flags]: read one 8kB block, print stderr
{
	local f=$1 b=$2
	shift 2
	dd if="$f" of=/dev/null bs=8k skip="$b" count=1 status=none "$@" 2>&1
}
out=$(ddread "$mnt/rel" 10 iflag=direct)
check "O_DIRECT read of the EIO block fails with EIO" \
	bash -c "[[ '$out' == *'Input/output error'* ]]"
out=$(ddread "$mnt/rel" 10)
check "buffered read of the EIO block fails with EIO" \
	bash -c "[[ '$out' == *'Input/output error'* ]]"
check "read spanning the EIO block fails" \
	bash -c "! dd if='$mnt/rel' of=/dev/null bs=64k count=1 skip=1 iflag=direct status=none 2>/dev/null"
check "reads of blocks 9 and 11 succeed" \
	test -z "$(ddread "$mnt/rel" 9 iflag=direct)" -a -z "$(ddread "$mnt/rel" 11 iflag=direct)"
echo x > "$src/f_rel"
check "suffix matches whole path components only" test "$(cat "$mnt/f_rel")" = x
check "EIO rule and hit count listed" grep -q '^eio add rel 81920 8192.*hits [1-9]' "$ctlfile"
ctl "eio clear"
check "after 'eio clear' the block reads again (O_DIRECT, buffered)" \
	test -z "$(ddread "$mnt/rel" 10 iflag=direct)" -a -z "$(ddread "$mnt/rel" 10)"
check "data still right" \
	test "$(dd if="$mnt/rel" bs=8k iflag=direct status=none | sha256sum | cut -d' ' -f1)" = "$(sum "$src/rel")"
ctl "eio add rel 0 0 1"			# whole file, once
check "EIO rule with count 1 fails once" \
	bash -c "! dd if='$mnt/rel' of=/dev/null bs=8k count=1 iflag=direct status=none 2>/dev/null"
check "... and then is gone" test -z "$(ddread "$mnt/rel" 0 iflag=direct)"
check "... from the listing too" bash -c "! grep -q '^eio' '$ctlfile'"

# ------------------------------------------------------------------
# (d) short reads
# ------------------------------------------------------------------
ctl "short add rel 65536 4096"
check "16kB O_DIRECT read at the short-read offset returns 4096" \
	test "$(probe pread "$mnt/rel" 65536 16384)" = 4096
check "read covering the offset returns up to offset+4096 (8192)" \
	test "$(probe pread "$mnt/rel" 61440 16384)" = 8192
check "read starting after the offset is whole" \
	test "$(probe pread "$mnt/rel" 69632 16384)" = 16384
check "short_injected counter" grep -q 'short_injected 2$' "$ctlfile"
ctl "short clear"
check "after 'short clear' the read is whole" \
	test "$(probe pread "$mnt/rel" 65536 16384)" = 16384

# ------------------------------------------------------------------
# (d2) torn reads: an O_DIRECT read served in two halves, a write into
#      the second half landing in the pause between them
# ------------------------------------------------------------------
ctl "tear add rel 0 0 300000"
probe pread "$mnt/rel" 0 16384 >"$work/tear.out" &
tear_pid=$!
sleep 0.1
printf 'TORN' | dd of="$mnt/rel" bs=1 seek=12288 conv=notrunc status=none
wait "$tear_pid"
check "torn read returns all 16kB" test "$(cat "$work/tear.out")" = 16384
check "tear counters: one read in two halves, written in its pause" \
	grep -q '^# tear_reads 1 tear_written 1$' "$ctlfile"
sync "$mnt/rel"
dd if="$mnt/rel" iflag=nocache count=0 status=none
check "a buffered read is whole" \
	test "$(dd if="$mnt/rel" bs=16k count=1 status=none | wc -c)" = 16384
check "... and never served in halves" grep -q '^# tear_reads 1 tear_written 1$' "$ctlfile"
ctl "tear clear"
check "after 'tear clear' no tear rule is listed" bash -c "! grep -q '^tear' '$ctlfile'"

# ------------------------------------------------------------------
# (e) unmount, and rules from the command line
# ------------------------------------------------------------------
check "unmount (fusermount3 -u), daemon exits" unmount
check "mount point is empty again" test -z "$(ls -A "$mnt")"
check "backing data intact" test "$(sum "$src/lat")" = "$lat_sum" -a -e "$src/rel" -a -e "$src/hl"

if mount_slowfs --read-latency-us=1000 --eio=rel:8192:1 --short-read=rel:16384:512; then
	check "command-line options show in the control file" \
		test "$(grep -c -e '^read-latency 1000$' -e '^eio add rel 8192 1' -e '^short add rel 16384 512' "$ctlfile")" = 3
	out=$(ddread "$mnt/rel" 1 iflag=direct)
	check "--eio applies" bash -c "[[ '$out' == *'Input/output error'* ]]"
	check "--short-read applies" test "$(probe pread "$mnt/rel" 16384 8192)" = 512
	check "unmount again" unmount
else
	bad "mount with command-line rules"
fi
check "bad rule option is refused" bash -c "! '$work/slowfs' --eio=rel:x:1 '$src' '$mnt' 2>/dev/null"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
