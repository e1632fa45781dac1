# shellcheck shell=bash
# test/lib.sh -- shell helpers shared by test/run.sh and bench/demo.sh
#
# Sourced, not run.  Everything here assumes Debian 12 (bookworm) with
# PostgreSQL 15 from Debian's own archive, and a caller running as root
# (asyncscan_require_root re-executes the caller through sudo if needed).
#
# PostgreSQL refuses to run as root, so servers, tests and pgbench run as
# the "postgres" system user (created by the postgresql-15 package) through
# asyncscan_as_pg; only apt-get, "make install" and drop_caches need root.

PG_MAJOR=15
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=${PG_CONFIG:-$PG_BINDIR/pg_config}
# where test/build_pg.sh caches the other majors it builds
ASYNCSCAN_PG_CACHE=${ASYNCSCAN_PG_CACHE:-/var/cache/pg_asyncscan}

# What building, installing and testing the extension needs.  The isolation
# tester, pg_regress and the PostgreSQL::Test perl modules ship in
# postgresql-server-dev-15; prove comes with perl; the TAP modules need
# IPC::Run.  postgresql-server-dev-15 pulls in clang-14/llvm-14 for the
# JIT bitcode PGXS builds beside the shared library.
ASYNCSCAN_PACKAGES=(
	"postgresql-$PG_MAJOR"
	"postgresql-server-dev-$PG_MAJOR"
	liburing-dev
	pkg-config
	fuse3
	libfuse3-dev
	make
	gcc
	libc6-dev
	perl
	libipc-run-perl
)

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
		asyncscan_die "apt-get not found: this script expects Debian 12"
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

# asyncscan_use_major MAJOR -- point PG_MAJOR, PG_BINDIR and PG_CONFIG at
# that PostgreSQL: 15 from Debian 12's packages, any other from the cache,
# which test/build_pg.sh fills the first time (5-10 minutes); 15p is 15
# with the storage hook patches (build_pg.sh 15 --patched).  Returns 1,
# with the reason, when the major cannot be built.
asyncscan_use_major()
{
	local major=$1 here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	PG_MAJOR=$major
	if [ "$major" = 15 ]; then
		PG_BINDIR=/usr/lib/postgresql/15/bin
	else
		# a background build started by the caller (test/run.sh) first
		if [ -n "${ASYNCSCAN_BUILD_PID:-}" ]; then
			asyncscan_log "waiting for the background build of PostgreSQL (log: ${BUILD_LOG:-?})"
			wait "$ASYNCSCAN_BUILD_PID" || true
			ASYNCSCAN_BUILD_PID=
			[ -n "${BUILD_LOG:-}" ] && sed 's/^/    /' "$BUILD_LOG"
		fi
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
	fi
	PG_CONFIG=$PG_BINDIR/pg_config
	[ -x "$PG_CONFIG" ] || asyncscan_die "$PG_CONFIG not found"
	asyncscan_log "PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}') in $PG_BINDIR"
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
		--exclude=./test/output_iso --exclude=./output_iso \
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
	asyncscan_as_pg make -C "$dir" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" ||
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
