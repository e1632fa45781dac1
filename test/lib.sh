# shellcheck shell=bash
# test/lib.sh -- shell helpers shared by test/run.sh, test/debian_chroot.sh,
# bench/run.sh and bench/demo.sh
#
# Sourced, not run.  Everything here assumes a Debian system and a caller
# running as root (asyncscan_require_root re-executes the caller through
# sudo if needed): Debian 12 (bookworm) with its PostgreSQL 15, or the
# Debian 13 (trixie) root file system that test/debian_chroot.sh makes for
# PostgreSQL 17, where the same scripts run against trixie's PostgreSQL 17.
#
# PostgreSQL refuses to run as root, so servers, tests and pgbench run as
# the "postgres" system user (created by the postgresql-NN package) through
# asyncscan_as_pg; only apt-get, "make install" and drop_caches need root.

# asyncscan_debian_suite MAJOR -- the Debian suite whose own binary
# packages carry PostgreSQL MAJOR (empty: none does; 16 is in no suite any
# more, 18 only in unstable, built from source by test/build_pg.sh instead)
asyncscan_debian_suite()
{
	case $1 in
		15) echo bookworm ;;
		17) echo trixie ;;
	esac
}

# the major this system's Debian release packages: 15 on Debian 12, 17
# inside test/debian_chroot.sh's trixie root
ASYNCSCAN_SYSTEM_MAJOR=15
if [ -r /etc/os-release ]; then
	case $(. /etc/os-release && echo "${VERSION_CODENAME:-}") in
		trixie) ASYNCSCAN_SYSTEM_MAJOR=17 ;;
	esac
fi

PG_MAJOR=$ASYNCSCAN_SYSTEM_MAJOR
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=${PG_CONFIG:-$PG_BINDIR/pg_config}
# where test/build_pg.sh caches the majors it builds (18) and
# test/debian_chroot.sh the root file systems it makes (17)
ASYNCSCAN_PG_CACHE=${ASYNCSCAN_PG_CACHE:-/var/cache/pg_asyncscan}
# set by asyncscan_use_major when the chosen major runs in a chroot
ASYNCSCAN_CHROOT=

# asyncscan_packages MAJOR -- what building, installing and testing the
# extension against Debian's PostgreSQL MAJOR needs, one per line.  The
# isolation tester, pg_regress and the PostgreSQL::Test perl modules ship
# in postgresql-server-dev-MAJOR (which pulls in clang/llvm for the JIT
# bitcode PGXS builds beside the shared library); the contrib modules the
# tests use (pg_buffercache, pg_visibility, pg_prewarm) in postgresql-MAJOR;
# prove comes with perl; the TAP modules need IPC::Run; the slowfs tests
# fuse3 and libfuse3-dev; 020_worker.pl ps (procps).
asyncscan_packages()
{
	printf '%s\n' "postgresql-$1" "postgresql-server-dev-$1" liburing-dev \
		pkg-config fuse3 libfuse3-dev make gcc libc6-dev perl libipc-run-perl \
		procps
}
mapfile -t ASYNCSCAN_PACKAGES < <(asyncscan_packages "$PG_MAJOR")

asyncscan_log() { printf '==> %s\n' "$*"; }
asyncscan_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# asyncscan_require_root SCRIPT ARGS... -- re-exec SCRIPT as root via sudo.
asyncscan_require_root()
{
	[ "$(id -u)" -eq 0 ] && return 0
	local script=$1
	shift
	if command -v sudo >/dev/null 2>&1; then
		asyncscan_log "not root: re-running through sudo"
		exec sudo --preserve-env=KEEP,SCALE,RUNS,PORT,PG_CONFIG,CI \
			bash "$script" "$@"
	fi
	asyncscan_die "$(basename "$script") must run as root (it installs packages" \
		"and the extension); sudo is not installed: run it as root"
}

# asyncscan_install_deps -- apt-get install whatever of the packages above is
# missing.  Skips apt-get update (the slow part) when nothing is missing.
asyncscan_install_deps()
{
	local missing=() pkg log
	for pkg in "${ASYNCSCAN_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null |
			grep -q '^install ok installed$'; then
			missing+=("$pkg")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		asyncscan_log "packages: all present"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 ||
		asyncscan_die "apt-get not found: this script expects Debian"
	asyncscan_log "packages: installing ${missing[*]}"
	log=$(mktemp /tmp/pg_asyncscan-apt.XXXXXX)
	if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "${missing[@]}"; } >"$log" 2>&1 </dev/null; then
		tail -n 60 "$log" >&2
		rm -f "$log"
		asyncscan_die "apt-get install failed"
	fi
	rm -f "$log"
	[ -x "$PG_CONFIG" ] || asyncscan_die "$PG_CONFIG not found after install"
}

# asyncscan_major_source MAJOR -- where PostgreSQL MAJOR comes from here:
#   system  this system's own Debian packages (15 on Debian 12)
#   chroot  Debian's binary packages of the suite that carries it, in a
#           root file system of that suite made by test/debian_chroot.sh
#           (17: trixie)
#   build   built from Debian's source package by test/build_pg.sh (18)
asyncscan_major_source()
{
	if [ "$1" = "$ASYNCSCAN_SYSTEM_MAJOR" ]; then
		echo system
	elif [ -n "$(asyncscan_debian_suite "$1")" ]; then
		echo chroot
	else
		echo build
	fi
}

# asyncscan_use_major MAJOR -- point PG_MAJOR, PG_BINDIR and PG_CONFIG at
# that PostgreSQL (see asyncscan_major_source), making it first if it is
# not in the cache yet: test/build_pg.sh builds 18 (5-10 minutes),
# test/debian_chroot.sh makes 17's trixie root (2-5 minutes); 15p is 15
# with the storage hook patches (build_pg.sh 15 --patched).  For a major
# in a chroot, ASYNCSCAN_CHROOT is the root's path and PG_BINDIR is the
# path inside it.  Returns 1, with the reason, when the major cannot be
# had.
asyncscan_use_major()
{
	local major=$1 here version
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	PG_MAJOR=$major
	ASYNCSCAN_CHROOT=
	case $(asyncscan_major_source "$major") in
		system)
			PG_BINDIR=/usr/lib/postgresql/$major/bin
			;;
		chroot)
			bash "$here/debian_chroot.sh" prepare "$major" --cache "$ASYNCSCAN_PG_CACHE" || {
				printf 'ERROR: PostgreSQL %s is not available (test/debian_chroot.sh failed)\n' \
					"$major" >&2
				return 1
			}
			ASYNCSCAN_CHROOT=$(bash "$here/debian_chroot.sh" path "$major" \
				--cache "$ASYNCSCAN_PG_CACHE")
			PG_BINDIR=/usr/lib/postgresql/$major/bin
			;;
		build)
			# 15p: 15 with the storage hook patches (patches/15)
			local build=("$major") dir=pg$major
			if [ "$major" = 15p ]; then
				build=(15 --patched)
				dir=pg15-patched
			fi
			bash "$here/build_pg.sh" "${build[@]}" --cache "$ASYNCSCAN_PG_CACHE" || {
				printf 'ERROR: PostgreSQL %s is not available (test/build_pg.sh failed)\n' \
					"$major" >&2
				return 1
			}
			PG_BINDIR=$ASYNCSCAN_PG_CACHE/$dir/bin
			;;
	esac
	PG_CONFIG=$PG_BINDIR/pg_config
	[ -x "$ASYNCSCAN_CHROOT$PG_CONFIG" ] || asyncscan_die "$ASYNCSCAN_CHROOT$PG_CONFIG not found"
	if [ -n "$ASYNCSCAN_CHROOT" ]; then
		version=$(bash "$here/debian_chroot.sh" run "$major" --cache "$ASYNCSCAN_PG_CACHE" \
			-- "$PG_BINDIR/postgres" --version)
		asyncscan_log "PostgreSQL $(echo "$version" | awk '{print $3}') in $PG_BINDIR" \
			"inside $ASYNCSCAN_CHROOT"
	else
		asyncscan_log "PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}') in $PG_BINDIR"
	fi
}

# asyncscan_probe_fuse DIR -- can the postgres user mount and unmount a
# FUSE file system here, as the slowfs TAP tests do (test/perl/SlowFS.pm)?
# Builds test/tools/slowfs.c in DIR (a directory postgres may write), mounts
# it and unmounts it as postgres.  Returns 0 when both worked; otherwise
# prints why not and returns 1.  Gives /dev/fuse to everyone first (the
# tests mount as postgres, without allow_other).
asyncscan_probe_fuse()
{
	local dir=$1 here cmd i out
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	for cmd in fusermount3 pkg-config cc mountpoint; do
		command -v "$cmd" >/dev/null 2>&1 || {
			echo "$cmd is not installed"
			return 1
		}
	done
	pkg-config --exists fuse3 || {
		echo "libfuse3-dev is not installed"
		return 1
	}
	[ -c /dev/fuse ] || {
		echo "there is no /dev/fuse (FUSE is not available in this environment)"
		return 1
	}
	chmod 666 /dev/fuse 2>/dev/null || {
		echo "cannot chmod /dev/fuse"
		return 1
	}
	mkdir -p "$dir/fuse-src" "$dir/fuse-mnt"
	chown postgres: "$dir/fuse-src" "$dir/fuse-mnt"
	# shellcheck disable=SC2046  # pkg-config prints several words
	cc -O2 -o "$dir/slowfs" "$here/tools/slowfs.c" $(pkg-config --cflags --libs fuse3) \
		-lpthread 2>"$dir/slowfs-build.log" || {
		echo "test/tools/slowfs.c does not build: $(head -c 300 "$dir/slowfs-build.log")"
		return 1
	}
	chmod 755 "$dir/slowfs"
	runuser -u postgres -- "$dir/slowfs" "$dir/fuse-src" "$dir/fuse-mnt" \
		>"$dir/slowfs.log" 2>&1 </dev/null || {
		echo "slowfs does not mount as postgres: $(tr '\n' ' ' <"$dir/slowfs.log" | head -c 300)"
		return 1
	}
	for i in $(seq 50); do
		# (not mountpoint(1): root may not stat another user's FUSE mount)
		if grep -qs " $dir/fuse-mnt " /proc/self/mountinfo; then
			if out=$(runuser -u postgres -- fusermount3 -u "$dir/fuse-mnt" 2>&1); then
				return 0
			fi
			fusermount3 -uz "$dir/fuse-mnt" >/dev/null 2>&1 || umount -l "$dir/fuse-mnt" || true
			echo "slowfs mounts, but fusermount3 -u fails: $out"
			return 1
		fi
		[ "$i" -lt 50 ] && sleep 0.1
	done
	echo "slowfs started but no FUSE mount appeared in 5 s"
	return 1
}

# asyncscan_probe_io_uring DIR -- can a process of the postgres user set up
# an io_uring here (what pg_asyncscan.io_method = 'io_uring' needs: the
# kernel, kernel.io_uring_disabled, a seccomp filter of the container may
# refuse it)?  Compiles a probe with liburing in DIR and runs it as
# postgres.  Returns 0 when it can; otherwise prints why not and returns 1.
asyncscan_probe_io_uring()
{
	local dir=$1 out
	pkg-config --exists liburing 2>/dev/null || {
		echo "liburing-dev is not installed (the extension is built without io_uring)"
		return 1
	}
	cat >"$dir/uring_probe.c" <<'PROBE'
#include <liburing.h>
#include <stdio.h>
#include <string.h>

int
main(void)
{
	struct io_uring ring;
	int			rc = io_uring_queue_init(8, &ring, 0);

	if (rc < 0)
	{
		printf("io_uring_queue_init: %s\n", strerror(-rc));
		return 1;
	}
	io_uring_queue_exit(&ring);
	return 0;
}
PROBE
	# shellcheck disable=SC2046  # pkg-config prints several words
	cc -o "$dir/uring_probe" "$dir/uring_probe.c" $(pkg-config --cflags --libs liburing) \
		>"$dir/uring_probe.log" 2>&1 || {
		echo "the io_uring probe does not build: $(head -c 300 "$dir/uring_probe.log")"
		return 1
	}
	chmod 755 "$dir/uring_probe"
	out=$(runuser -u postgres -- "$dir/uring_probe" 2>&1) || {
		echo "the postgres user cannot set up an io_uring: $out"
		return 1
	}
}

# asyncscan_as_pg CMD... -- run CMD as the postgres user, with the server
# binaries first in PATH and HOME set to $ASYNCSCAN_PG_HOME (a directory
# postgres may write, normally the caller's work directory).
asyncscan_as_pg()
{
	runuser -u postgres -- env HOME="${ASYNCSCAN_PG_HOME:-/tmp}" \
		PATH="$PG_BINDIR:$PATH" "$@"
}

# asyncscan_make_workdir PREFIX -- a fresh directory owned by postgres;
# prints its path.
asyncscan_make_workdir()
{
	local dir
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	chown postgres: "$dir"
	chmod 755 "$dir"
	printf '%s\n' "$dir"
}

# asyncscan_copy_tree SRC DST -- copy the source tree without git metadata
# and without build or test leftovers, so DST always builds from scratch;
# DST ends up owned by postgres.
asyncscan_copy_tree()
{
	local src=$1 dst=$2
	mkdir -p "$dst"
	tar -C "$src" -cf - \
		--exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=./results --exclude=./tmp_check --exclude=./log \
		--exclude=./test/isolation/output --exclude=./output_iso \
		--exclude=./regression.diffs --exclude=./regression.out \
		--exclude=./bench/results \
		. | tar -C "$dst" -xf -
	chown -R postgres: "$dst"
}

# asyncscan_build_install DIR -- build as postgres (warnings are errors),
# install as root.
asyncscan_build_install()
{
	local dir=$1
	asyncscan_log "build ($dir)"
	asyncscan_as_pg make -C "$dir" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" COPT=-Werror ||
		asyncscan_die "build failed"
	asyncscan_log "install into $("$PG_CONFIG" --pkglibdir)"
	make -C "$dir" -s install PG_CONFIG="$PG_CONFIG" >/dev/null ||
		asyncscan_die "make install failed"
}

# asyncscan_port_free PORT -- no server listens on PORT (TCP) and no socket
# file for it exists in the usual places.
asyncscan_port_free()
{
	local port=$1
	! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
		[ ! -e "/var/run/postgresql/.s.PGSQL.$port" ] &&
		[ ! -e "/tmp/.s.PGSQL.$port" ]
}

# asyncscan_pick_port FIRST -- the first free port from FIRST on.
asyncscan_pick_port()
{
	local port=$1
	while ! asyncscan_port_free "$port"; do
		port=$((port + 1))
		[ "$port" -lt $(($1 + 100)) ] || asyncscan_die "no free port near $1"
	done
	printf '%s\n' "$port"
}

# asyncscan_initdb DATADIR PORT SOCKDIR [SETTING...] -- a throwaway cluster
# with data checksums, C locale, UTF8, trust authentication for local
# connections only (listen_addresses is empty: Unix socket in SOCKDIR).
# Each SETTING is a postgresql.conf line.
asyncscan_initdb()
{
	local data=$1 port=$2 sock=$3 setting
	shift 3
	asyncscan_as_pg initdb -D "$data" -k -U postgres --auth=trust \
		--no-locale -E UTF8 >"$data.initdb.log" 2>&1 || {
		cat "$data.initdb.log" >&2
		asyncscan_die "initdb failed"
	}
	{
		printf '\n# added by pg_asyncscan test/lib.sh\n'
		printf "port = %s\n" "$port"
		printf "listen_addresses = ''\n"
		printf "unix_socket_directories = '%s'\n" "$sock"
		for setting in "$@"; do
			printf '%s\n' "$setting"
		done
	} >>"$data/postgresql.conf"
}

# asyncscan_pg_start DATADIR LOGFILE
asyncscan_pg_start()
{
	asyncscan_as_pg pg_ctl -D "$1" -l "$2" -w -t 120 start >/dev/null || {
		tail -n 40 "$2" >&2
		asyncscan_die "server did not start (log: $2)"
	}
}

# asyncscan_pg_stop DATADIR -- fast shutdown, immediate if that hangs.
# Never fails.
asyncscan_pg_stop()
{
	[ -f "$1/postmaster.pid" ] || return 0
	asyncscan_as_pg pg_ctl -D "$1" -m fast -w -t 60 stop >/dev/null 2>&1 ||
		asyncscan_as_pg pg_ctl -D "$1" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
		true
}

# asyncscan_stop_all_under DIR -- stop every server whose data directory is
# somewhere below DIR (clusters left behind by interrupted TAP tests).
asyncscan_stop_all_under()
{
	local pidfile
	[ -d "$1" ] || return 0
	while IFS= read -r pidfile; do
		asyncscan_as_pg pg_ctl -D "$(dirname "$pidfile")" -m immediate -w -t 30 \
			stop >/dev/null 2>&1 || true
	done < <(find "$1" -name postmaster.pid -type f 2>/dev/null)
}

# asyncscan_release_work -- the end of a script's cleanup: stop the cluster
# in $DATA and any other left under $WORK (TAP tests'), then remove $WORK
# unless KEEP=1.
asyncscan_release_work()
{
	if [ -n "${DATA:-}" ]; then
		asyncscan_pg_stop "$DATA"
	fi
	if [ -n "${WORK:-}" ]; then
		asyncscan_stop_all_under "$WORK"
		if [ "${KEEP:-0}" = 1 ]; then
			echo "kept work directory: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}

# asyncscan_trap_cleanup FUNCTION -- run FUNCTION on exit; INT and TERM exit
# through it with the usual codes.
asyncscan_trap_cleanup()
{
	# shellcheck disable=SC2064  # the function name is fixed now
	trap "$1" EXIT
	trap 'echo "interrupted" >&2; exit 130' INT
	trap 'echo "terminated" >&2; exit 143' TERM
}
