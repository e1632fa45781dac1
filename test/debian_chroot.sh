#!/bin/bash
# test/debian_chroot.sh -- PostgreSQL majors that Debian 12 does not
# package, from the Debian binary packages of the suite that does, in a
# root file system of that suite: made once into a cache directory and
# reused, and entered for each command in a mount namespace of its own.
#
#   bash test/debian_chroot.sh prepare MAJOR [--cache DIR]
#   bash test/debian_chroot.sh run MAJOR [--cache DIR] [--pid] [--exclusive]
#                                  [--tmp DIR] [--bind PATH]... [--bind-ro PATH]...
#                                  -- COMMAND [ARG]...
#   bash test/debian_chroot.sh path MAJOR [--cache DIR]
#   bash test/debian_chroot.sh remove MAJOR [--cache DIR]
#
# MAJOR 17 comes from Debian 13 (trixie).  Debian's archive no longer
# serves postgresql-17's source (test/build_pg.sh cannot build it), but
# trixie's binary packages download fine.  Nothing from trixie is ever
# installed into this system: it all goes into the root file system.
#
#   prepare  makes DIR/pgMAJOR-SUITE/root (DIR: /var/cache/pg_asyncscan),
#            unless the one there is sound and current: debootstrap
#            --variant=minbase from the Debian mirror this system's apt
#            uses, then apt-get install of what the test suite needs
#            (test/lib.sh: asyncscan_packages) and procps.  No service is
#            started (policy-rc.d), no cluster is created
#            (createcluster.conf), and the postgres user gets this
#            system's uid and gid, so files in a directory bound into the
#            root have the same owner on both sides.  2-5 minutes; the
#            result is stamped (DIR/pgMAJOR-SUITE/.built) and remade when
#            the recipe (suite, mirror, packages, uid) changed, when it is
#            older than ASYNCSCAN_CHROOT_MAX_AGE_DAYS (default 14: trixie's
#            updates come in), or when its packages are not all installed.
#   run      runs COMMAND as root inside the root, with a fresh /proc, this
#            system's /dev (with /dev/pts, /dev/shm, /dev/fuse) and /sys,
#            and each --bind PATH (read-write) or --bind-ro PATH at the same
#            path inside as outside.  The environment is passed on
#            unchanged; the working directory is kept when it exists inside.
#            --pid: also a PID namespace of its own, so that every process
#            COMMAND leaves behind (servers) is killed when COMMAND ends.
#            --tmp DIR: DIR (made by the caller, removed by the caller) is
#            /tmp inside, so that what COMMAND leaves in /tmp goes with DIR.
#            --exclusive: one such command at a time (the test suite, which
#            installs the extension into the root; DIR/pgMAJOR-SUITE/
#            install.lock).  The exit status is COMMAND's.
#   path     prints the root's path.
#   remove   deletes the root.
#
# Mounts: every mount "run" makes (and debootstrap's own) lives in a
# private mount namespace (unshare --mount), never in this system's: it
# disappears with the last process in the namespace, however that ends
# (normal exit, failure, INT, TERM, KILL), so there is nothing to unmount
# and nothing a killed run can leave behind.  When the caller of "run"
# dies, COMMAND gets SIGTERM (setpriv --pdeathsig); with --pid, send
# SIGTERM to the namespace's first process (the child of the unshare
# process that "run" becomes), not to unshare: it ignores it, and the first
# process passes it on to COMMAND.  Without --pid a server
# that COMMAND starts in the background (pg_ctl start) keeps its namespace,
# with its mounts, until it stops; with --pid it is killed when COMMAND
# ends.  "prepare" and "remove" first detach any mount left below the root
# in this system's namespace (by hand, or by an older version of this
# script), and never delete across a file system boundary.
#
# Locking: "run" holds a shared lock (DIR/pgMAJOR-SUITE/lock) for the life
# of every process it starts; "prepare" remakes and "remove" deletes the
# root only under the exclusive lock, so never under a running command.
#
# Runs as root.  Exits 2 when MAJOR is in no Debian suite.

set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lib.sh
. "$HERE/lib.sh"

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

ACTION=${1:-}
[ $# -gt 0 ] && shift
case $ACTION in
	-h | --help)
		usage
		exit 0
		;;
	_enter)
		# internal: the part of "run" inside the new namespaces (below)
		;;
	prepare | run | path | remove)
		MAJOR=${1:-}
		[ $# -gt 0 ] && shift
		;;
	*) asyncscan_die "debian_chroot.sh: unknown action '$ACTION' (try --help)" ;;
esac

# --- _enter: inside the new mount (and PID) namespace ----------------------
# _enter ROOT PID(0|1) TMP [--bind PATH | --bind-ro PATH]... -- COMMAND...
# Mounts what the root needs (only in this namespace), then runs COMMAND
# chrooted: as PID 1 of a PID namespace, as a child that it forwards INT
# and TERM to (when PID 1 ends, the kernel kills the rest of the
# namespace); otherwise by exec.
if [ "$ACTION" = _enter ]; then
	ROOT=$1
	WITH_PID=$2
	TMP=$3
	shift 3
	mount -t proc proc "$ROOT/proc"
	mount --rbind /dev "$ROOT/dev"
	mount --rbind /sys "$ROOT/sys"
	[ -n "$TMP" ] && mount --bind "$TMP" "$ROOT/tmp"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		mkdir -p "$ROOT$2"
		mount --rbind "$2" "$ROOT$2"
		[ "$1" = --bind-ro ] && mount -o remount,bind,ro "$ROOT$2"
		shift 2
	done
	shift
	# the working directory, if it exists inside
	cwd=/
	[ -d "$ROOT$PWD" ] && cwd=$PWD
	if [ "$WITH_PID" = 0 ]; then
		exec chroot "$ROOT" env --chdir="$cwd" "$@"
	fi
	child=
	# shellcheck disable=SC2317  # called by the trap
	forward() { [ -n "$child" ] && kill -TERM "$child" 2>/dev/null; }
	trap forward INT TERM
	# (an asynchronous command of a script starts with INT and QUIT
	# ignored: give it the default back)
	chroot "$ROOT" env --default-signal=INT,QUIT --chdir="$cwd" "$@" &
	child=$!
	rc=0
	while :; do
		wait "$child" && rc=0 || rc=$?
		# a trapped signal interrupts wait (status > 128): wait again
		kill -0 "$child" 2>/dev/null || break
	done
	exit "$rc"
fi

# --- options -------------------------------------------------------------------
CACHE=$ASYNCSCAN_PG_CACHE
WITH_PID=0
EXCLUSIVE=0
TMP_DIR=
BINDS=()
while [ $# -gt 0 ]; do
	case $1 in
		--cache)
			CACHE=$2
			shift 2
			;;
		--pid)
			WITH_PID=1
			shift
			;;
		--exclusive)
			EXCLUSIVE=1
			shift
			;;
		--tmp)
			if [ $# -lt 2 ] || [ ! -d "$2" ]; then
				asyncscan_die "--tmp needs an existing directory"
			fi
			TMP_DIR=$(cd "$2" && pwd -P)
			shift 2
			;;
		--bind | --bind-ro)
			if [ $# -lt 2 ] || [ ! -d "$2" ]; then
				asyncscan_die "$1 needs an existing directory"
			fi
			BINDS+=("$1" "$(cd "$2" && pwd -P)")
			shift 2
			;;
		--)
			shift
			break
			;;
		*) asyncscan_die "debian_chroot.sh: unknown argument: $1 (try --help)" ;;
	esac
done

SUITE=$(asyncscan_debian_suite "$MAJOR")
if [ -z "$SUITE" ] || [ "$SUITE" = "$(asyncscan_debian_suite "$ASYNCSCAN_SYSTEM_MAJOR")" ]; then
	printf 'ERROR: PostgreSQL %s is in no Debian suite but this system'"'"'s own\n' "$MAJOR" >&2
	exit 2
fi
BASE=${CACHE%/}/pg$MAJOR-$SUITE
ROOT=$BASE/root
STAMP=$BASE/.built
LOCK=$BASE/lock
MAX_AGE_DAYS=${ASYNCSCAN_CHROOT_MAX_AGE_DAYS:-14}

log() { printf '==> [pg%s %s chroot] %s\n' "$MAJOR" "$SUITE" "$*"; }

[ "$(id -u)" -eq 0 ] || asyncscan_die "debian_chroot.sh must run as root"

if [ "$ACTION" = path ]; then
	printf '%s\n' "$ROOT"
	exit 0
fi

mkdir -p "$BASE"
exec {LOCK_FD}>>"$LOCK"

# --- run ---------------------------------------------------------------------
if [ "$ACTION" = run ]; then
	[ $# -gt 0 ] || asyncscan_die "run: no command (try --help)"
	flock -s "$LOCK_FD"
	if [ ! -f "$STAMP" ] || [ ! -d "$ROOT" ]; then
		asyncscan_die "no PostgreSQL $MAJOR root in $ROOT: run 'bash $0 prepare $MAJOR' first"
	fi
	if [ "$EXCLUSIVE" = 1 ]; then
		exec {INSTALL_FD}>>"$BASE/install.lock"
		if ! flock -n -x "$INSTALL_FD"; then
			log "waiting for another command that installs into $ROOT ($BASE/install.lock)"
			flock -x "$INSTALL_FD"
		fi
	fi
	# When our caller dies, COMMAND gets SIGTERM: directly without --pid;
	# with --pid through unshare, which ignores TERM itself (it waits for
	# its child), so unshare is killed and passes TERM on (--kill-child)
	NS=(--mount --propagation slave)
	DEATHSIG=TERM
	if [ "$WITH_PID" = 1 ]; then
		NS+=(--pid --fork --kill-child=TERM)
		DEATHSIG=KILL
	fi
	exec setpriv --pdeathsig "$DEATHSIG" unshare "${NS[@]}" -- \
		bash "$0" _enter "$ROOT" "$WITH_PID" "$TMP_DIR" "${BINDS[@]}" -- "$@"
fi

# --- prepare and remove --------------------------------------------------------

# mounts_below DIR -- the mount points below DIR in this namespace, deepest
# first (mountinfo escapes blanks as \040 and so on: unescaped here)
mounts_below()
{
	awk -v dir="$1/" '{ if (index($5, dir) == 1) print $5 }' /proc/self/mountinfo |
		while IFS= read -r m; do printf '%b\n' "$m"; done | sort -r
}

# detach_mounts DIR -- unmount whatever is mounted below DIR here (lazily:
# a busy one goes as soon as it is free); dies if something stays
detach_mounts()
{
	local m
	while IFS= read -r m; do
		log "unmounting $m (left behind by an earlier run)"
		umount -l "$m" || true
	done < <(mounts_below "$1")
	[ -z "$(mounts_below "$1")" ] ||
		asyncscan_die "could not unmount everything below $1: $(mounts_below "$1" | tr '\n' ' ')"
}

# remove_tree DIR -- rm -rf, but only with nothing mounted below and never
# across a file system boundary
remove_tree()
{
	[ -e "$1" ] || return 0
	detach_mounts "$1"
	rm -rf --one-file-system "$1"
}

# lock_exclusive -- the exclusive lock, saying whom we wait for
lock_exclusive()
{
	flock -u "$LOCK_FD"
	if ! flock -n -x "$LOCK_FD"; then
		log "waiting for the commands that use $ROOT to end (lock $LOCK)"
		flock -x "$LOCK_FD"
	fi
}

if [ "$ACTION" = remove ]; then
	lock_exclusive
	log "removing $ROOT"
	remove_tree "$ROOT"
	remove_tree "$ROOT.new"
	rm -f "$STAMP"
	exit 0
fi

# host_uri SUITE -- the URI this system's apt fetches SUITE from (empty if
# none)
host_uri()
{
	# shellcheck disable=SC2016  # apt-get's own $(FIELD) syntax
	apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Created-By: Packages' 2>/dev/null |
		awk -v s="$1" '$1 == s { print $2; exit }'
}

HOST_SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
MIRROR=${ASYNCSCAN_DEBIAN_MIRROR:-$(host_uri "$HOST_SUITE")}
MIRROR=${MIRROR:-http://deb.debian.org/debian/}
SECURITY_MIRROR=${ASYNCSCAN_DEBIAN_SECURITY_MIRROR:-$(host_uri "$HOST_SUITE-security")}
mapfile -t PACKAGES < <(asyncscan_packages "$MAJOR")
PG_UID=$(id -u postgres 2>/dev/null || true)
PG_GID=$(id -g postgres 2>/dev/null || true)
# (v2: /etc/mtab)
RECIPE="v2 debootstrap --variant=minbase $SUITE $MIRROR; security ${SECURITY_MIRROR:-none};"
RECIPE="$RECIPE packages ${PACKAGES[*]}; postgres ${PG_UID:-?}:${PG_GID:-?}"

# sound -- the root exists, was made from this recipe less than
# MAX_AGE_DAYS ago, and has its packages installed; otherwise prints why
# not and returns 1
sound()
{
	local status
	if [ ! -f "$STAMP" ] || [ ! -d "$ROOT" ]; then
		echo "not made yet"
		return 1
	fi
	if [ "$(sed -n 2p "$STAMP")" != "recipe $RECIPE" ]; then
		echo "made from another recipe"
		return 1
	fi
	if [ -n "$(find "$STAMP" -mtime "+$MAX_AGE_DAYS")" ]; then
		echo "older than $MAX_AGE_DAYS days"
		return 1
	fi
	# shellcheck disable=SC2016  # dpkg-query's own ${FIELD} syntax
	if ! status=$(chroot "$ROOT" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		"${PACKAGES[@]}" 2>&1) || printf '%s\n' "$status" | grep -qv '^ii '; then
		echo "packages missing or broken: $(printf '%s\n' "$status" | grep -v '^ii ' |
			tr '\n' ' ')"
		return 1
	fi
	if [ ! -x "$ROOT/usr/lib/postgresql/$MAJOR/bin/postgres" ]; then
		echo "no postgres binary"
		return 1
	fi
	return 0
}

flock -s "$LOCK_FD"
if why=$(sound); then
	log "cached: $ROOT ($(head -n 1 "$STAMP"))"
	if [ -n "$(mounts_below "$ROOT")" ]; then
		lock_exclusive
		detach_mounts "$ROOT"
	fi
	exit 0
fi
lock_exclusive
if why=$(sound); then
	log "cached: $ROOT ($(head -n 1 "$STAMP")), made meanwhile"
	exit 0
fi
log "making $ROOT: $why"
T0=$(date +%s)
NEW=$ROOT.new
remove_tree "$NEW"
detach_mounts "$ROOT"
command -v debootstrap >/dev/null 2>&1 || {
	log "installing debootstrap (this system's)"
	# (waiting for the dpkg lock if another apt-get holds it)
	APT=(apt-get -q -o DPkg::Lock::Timeout=600)
	DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends \
		debootstrap >/dev/null 2>&1 ||
		{ DEBIAN_FRONTEND=noninteractive "${APT[@]}" update >/dev/null &&
			DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends \
				debootstrap >/dev/null; } ||
		asyncscan_die "apt-get install debootstrap failed"
}

SETUP_LOG=$BASE/setup.log
: >"$SETUP_LOG"
log "debootstrap --variant=minbase $SUITE from $MIRROR (log: $SETUP_LOG)"
# in a mount namespace of its own: its /proc and /sys mounts go with it
TD=$(date +%s)
unshare --mount --propagation slave -- debootstrap --variant=minbase \
	--include=ca-certificates "$SUITE" "$NEW" "$MIRROR" >>"$SETUP_LOG" 2>&1 || {
	tail -n 20 "$SETUP_LOG" >&2
	asyncscan_die "debootstrap failed (log: $SETUP_LOG)"
}
T1=$(date +%s)
log "debootstrap done in $((T1 - TD)) s"

# apt sources: the suite, its updates and its security updates, from this
# system's mirrors
{
	printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' \
		"$MIRROR" "$SUITE" "$SUITE"
	printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
	if [ -n "$SECURITY_MIRROR" ]; then
		printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' \
			"$SECURITY_MIRROR" "$SUITE"
		printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
	fi
} >"$NEW/etc/apt/sources.list.d/debian.sources"
rm -f "$NEW/etc/apt/sources.list"
cp /etc/resolv.conf "$NEW/etc/resolv.conf"
# fusermount3 (the slowfs tests) reads /etc/mtab, which minbase lacks
ln -sfn ../proc/self/mounts "$NEW/etc/mtab"
# no package may start a service in the root ...
printf '#!/bin/sh\n# pg_asyncscan test/debian_chroot.sh: start no service here\nexit 101\n' \
	>"$NEW/usr/sbin/policy-rc.d"
chmod 755 "$NEW/usr/sbin/policy-rc.d"
# ... nor create a cluster: the tests make their own
mkdir -p "$NEW/etc/postgresql-common/createcluster.d"
echo "create_main_cluster = false" \
	>"$NEW/etc/postgresql-common/createcluster.d/pg_asyncscan.conf"
# postgres with this system's uid and gid (the package keeps an existing user)
if [ -n "$PG_UID" ] && [ -n "$PG_GID" ]; then
	chroot "$NEW" groupadd --system --gid "$PG_GID" postgres
	chroot "$NEW" useradd --system --uid "$PG_UID" --gid "$PG_GID" \
		--home-dir /var/lib/postgresql --shell /bin/bash \
		--comment "PostgreSQL administrator" postgres
fi

log "apt-get install ${PACKAGES[*]}"
# shellcheck disable=SC2016  # expanded inside the root
if ! unshare --mount --propagation slave -- bash "$0" _enter "$NEW" 0 "" -- \
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
	bash -c 'apt-get update -q && apt-get install -y -q --no-install-recommends "$@" &&
		apt-get clean' _ "${PACKAGES[@]}" >>"$SETUP_LOG" 2>&1; then
	tail -n 20 "$SETUP_LOG" >&2
	asyncscan_die "apt-get install in $NEW failed (log: $SETUP_LOG)"
fi

log "apt-get done in $(($(date +%s) - T1)) s"
version=$(chroot "$NEW" "/usr/lib/postgresql/$MAJOR/bin/postgres" --version | awk '{print $3}')
# shellcheck disable=SC2016  # dpkg-query's own ${FIELD} syntax
package=$(chroot "$NEW" dpkg-query -W -f='${Version}' "postgresql-$MAJOR")
remove_tree "$ROOT"
mv "$NEW" "$ROOT"
printf 'PostgreSQL %s (Debian package %s, %s)\nrecipe %s\nmade %s in %ss\n' \
	"$version" "$package" "$SUITE" "$RECIPE" "$(date -u +%FT%TZ)" \
	"$(($(date +%s) - T0))" >"$STAMP"
log "done in $(($(date +%s) - T0)) s: $ROOT ($(head -n 1 "$STAMP"))"
