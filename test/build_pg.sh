#!/bin/bash
# test/build_pg.sh -- build one PostgreSQL major from Debian's source package,
# once, into a cache directory that later runs reuse.
#
#   bash test/build_pg.sh MAJOR [--patched] [--flavor test|bench] [--cache DIR]
#
#   --flavor test   (default) --enable-cassert --enable-debug --enable-tap-tests,
#                   for running the test suite against MAJOR;
#                   cache /var/cache/pg_asyncscan/pgMAJOR
#   --flavor bench  optimised, no assertions, for the benchmarks;
#                   cache /var/cache/pg_asyncscan-bench/pgMAJOR
#   --patched       with the storage hook patches of patches/MAJOR/ applied
#                   (MAJOR 15p is short for 15 --patched)
#                   (README, "Patched storage hooks"); cache directory
#                   pgMAJOR-patched instead of pgMAJOR.  The only way to
#                   build 15, whose stock server is Debian 12's own.
#
# Both flavours: upstream's source from Debian's source package, without
# Debian's packaging patches; --with-liburing (18 and later), ICU, lz4, OpenSSL; the contrib modules the
# tests and benchmarks use (pg_buffercache, pg_visibility, pg_prewarm); the
# isolation tester and pg_regress installed under lib/pgxs, where PGXS looks
# for them.  Result: PREFIX/bin/pg_config and the stamp file PREFIX/.built
# (version, Debian source version, configure line, build time).  When the
# stamp is present the script does nothing and exits 0.
#
# The source package comes from the Debian suite that carries the major:
# 15 from bookworm (the newest version the archive serves: bookworm-security
# lists versions whose files it does not serve), 17 from trixie, 18 from
# unstable.  The script adds deb-src ONLY lines for those suites
# (/etc/apt/sources.list.d/pg_asyncscan-src.sources): source packages can be
# fetched, no binary package from another suite can ever be installed.  It
# runs ./configure && make, never dpkg-buildpackage.  5-10 minutes on 2 cores.
#
# Runs as root (apt-get).  Exits 2 when Debian's archive carries no source
# package for MAJOR (PostgreSQL 16 is in none of its suites any more).

set -Eeuo pipefail

MAJOR=
FLAVOR=test
CACHE=
PATCHED=0
while [ $# -gt 0 ]; do
	case $1 in
		--flavor) FLAVOR=$2; shift 2 ;;
		--patched) PATCHED=1; shift ;;
		--cache) CACHE=$2; shift 2 ;;
		-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
		[0-9]*p) MAJOR=${1%p}; PATCHED=1; shift ;;	# 15p: 15 --patched
		[0-9]*) MAJOR=$1; shift ;;
		*) echo "ERROR: unknown argument: $1 (try --help)" >&2; exit 1 ;;
	esac
done

log() { printf '==> [pg%s %s] %s\n' "$MAJOR" "$FLAVOR" "$*"; }
die() { printf 'ERROR: [pg%s %s] %s\n' "$MAJOR" "$FLAVOR" "$*" >&2; exit "${2:-1}"; }

[[ $MAJOR =~ ^1[5-9]$ ]] || die "MAJOR must be 15 (with --patched), 16, 17, 18 or 19 (got '$MAJOR')"
[ "$MAJOR" != 15 ] || [ "$PATCHED" = 1 ] ||
	die "PostgreSQL 15 is Debian 12's own package; build it only with --patched"
PATCHES=()
if [ "$PATCHED" = 1 ]; then
	PATCHDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/patches/$MAJOR
	for p in "$PATCHDIR"/*.patch; do
		[ -f "$p" ] && PATCHES+=("$p")
	done
	[ ${#PATCHES[@]} -gt 0 ] || die "no patches in $PATCHDIR"
fi
case $FLAVOR in
	test)
		CACHE=${CACHE:-/var/cache/pg_asyncscan}
		FLAVOR_CONF=(--enable-cassert --enable-debug --enable-tap-tests)
		;;
	bench)
		CACHE=${CACHE:-/var/cache/pg_asyncscan-bench}
		FLAVOR_CONF=()
		;;
	*) die "--flavor must be test or bench" ;;
esac
PREFIX=$CACHE/pg$MAJOR
SOURCE_NOTE="upstream source, no Debian patches"
if [ "$PATCHED" = 1 ]; then
	PREFIX=$CACHE/pg$MAJOR-patched
	# a changed patch set means a rebuild
	SOURCE_NOTE="$SOURCE_NOTE; patches/$MAJOR $(cat "${PATCHES[@]}" | sha256sum | cut -c1-16)"
fi
STAMP=$PREFIX/.built
SRCLIST=/etc/apt/sources.list.d/pg_asyncscan-src.sources
CONTRIB=(pg_buffercache pg_visibility pg_prewarm pg_stat_statements)

# --with-liburing exists from PostgreSQL 18 on (its own AIO); older majors
# do not know it, and our extension links liburing itself.
URING=()
[ "$MAJOR" -ge 18 ] && URING=(--with-liburing)
CONF=(--prefix="$PREFIX" "${URING[@]}" --with-icu --with-lz4 --with-openssl
	--without-llvm --disable-nls "${FLAVOR_CONF[@]}")

# contrib_installed -- every module of CONTRIB is in the cached build (a
# build made before a module joined the list lacks it)
contrib_installed()
{
	local c dir
	dir=$("$PREFIX/bin/pg_config" --pkglibdir) || return 1
	for c in "${CONTRIB[@]}"; do
		[ -f "$dir/$c.so" ] || return 1
	done
}

# A cached build is reused when it was made by this script with the same
# configure line from the same sources (the stamp's second line) and has
# every contrib module the tests use.
if [ -f "$STAMP" ] && [ -x "$PREFIX/bin/pg_config" ] &&
	[ "$(sed -n 2p "$STAMP")" = "configure ${CONF[*]} ($SOURCE_NOTE)" ]; then
	if contrib_installed; then
		log "cached: $PREFIX ($(head -n 1 "$STAMP"))"
		exit 0
	fi
	log "cached build in $PREFIX lacks a contrib module of: ${CONTRIB[*]}: rebuilding"
fi


[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get)"

# Packages for this build (bookworm versions): a subset of the Build-Depends
# of debian/control, without docs, LLVM, PL languages, LDAP, GSSAPI,
# SELinux, systemd.  IPC::Run for the TAP tests.
PKGS=(build-essential bison flex pkg-config liburing-dev libreadline-dev
	zlib1g-dev libicu-dev liblz4-dev libssl-dev dpkg-dev libipc-run-perl)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done

if [ ! -f "$SRCLIST" ] || ! grep -q 'unstable' "$SRCLIST" || ! grep -q 'bookworm-security' "$SRCLIST"; then
	log "adding deb-src (sources only) for Debian bookworm, trixie and unstable: $SRCLIST"
	cat >"$SRCLIST" <<'SRC'
# Added by pg_asyncscan test/build_pg.sh: SOURCE packages only (deb-src),
# used to fetch postgresql-15 (bookworm, for the patched build),
# postgresql-17 (trixie) and postgresql-18 (unstable).
# No binary package from these suites is ever installed.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates trixie unstable
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	rm -f /etc/apt/sources.list.d/pg_asyncscan-bench-unstable-src.sources
fi
if [ ${#missing[@]} -gt 0 ] || ! apt-cache showsrc "postgresql-$MAJOR" 2>/dev/null | grep '^Version:' >/dev/null; then
	log "apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
fi
if [ ${#missing[@]} -gt 0 ]; then
	log "installing build packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

SRCDIR=${CACHE%/}/src
mkdir -p "$SRCDIR"
cd "$SRCDIR"
# (a tree extracted with Debian's patches applied has .pc/)
for d in "postgresql-$MAJOR-"*/; do
	[ -d "$d.pc" ] && rm -rf "$d"
done
if ! ls -d "postgresql-$MAJOR-"*/ >/dev/null 2>&1; then
	apt-cache showsrc "postgresql-$MAJOR" 2>/dev/null | grep '^Version:' >/dev/null ||
		die "Debian's archive has no source package postgresql-$MAJOR in any suite configured for deb-src (bookworm, trixie, unstable)" 2
	# the newest version whose files the archive serves (bookworm-security
	# lists postgresql-15 versions it answers with 404)
	fetched=
	for v in $(apt-cache showsrc "postgresql-$MAJOR" | sed -n 's/^Version: //p' | sort -rV | uniq); do
		log "apt-get source postgresql-$MAJOR=$v (into $SRCDIR)"
		if apt-get source -q --download-only "postgresql-$MAJOR=$v" >"$SRCDIR/fetch.log" 2>&1; then
			fetched=$v
			break
		fi
		grep -E '^(E|W):' "$SRCDIR/fetch.log" >&2 || tail -n 5 "$SRCDIR/fetch.log" >&2
	done
	[ -n "$fetched" ] ||
		die "apt-get source postgresql-$MAJOR failed: the archive lists it but does not serve its files" 2
	dsc=$(ls "postgresql-${MAJOR}_"*.dsc | sort -V | tail -n 1)
	# upstream's source as Debian ships it, without Debian's packaging
	# patches: 50-per-version-dirs would install libraries into
	# /usr/lib/postgresql/MAJOR/lib whatever the prefix, shared by every
	# build of that major on the machine
	dpkg-source --skip-patches -x "$dsc" >/dev/null
fi
srcdir=$(ls -d "postgresql-$MAJOR-"*/ | sort -V | tail -n 1)
srcdir=$SRCDIR/${srcdir%/}
version=$(cd "$srcdir" && dpkg-parsechangelog -S Version 2>/dev/null || basename "$srcdir")
log "source $srcdir (Debian $version)"

build=$CACHE/build-pg$MAJOR-$FLAVOR
if [ "$PATCHED" = 1 ]; then
	build=$build-patched
	# patch a copy: the extracted tree stays pristine for other builds
	rm -rf "$build.source"
	cp -a "$srcdir" "$build.source"
	srcdir=$build.source
	for p in "${PATCHES[@]}"; do
		log "patch $(basename "$p")"
		patch -d "$srcdir" -p1 --quiet --no-backup-if-mismatch <"$p" ||
			die "$(basename "$p") does not apply to $version"
	done
fi
rm -rf "$build" "$PREFIX"
mkdir -p "$build"
cd "$build"
log "configure ${CONF[*]}"
"$srcdir/configure" "${CONF[@]}" >configure.log 2>&1 ||
	{ tail -n 30 configure.log >&2; die "configure failed (log: $build/configure.log)"; }
log "make -j$(nproc) (5-10 minutes)"
t0=$(date +%s)
make -s -j"$(nproc)" >make.log 2>&1 ||
	{ tail -n 30 make.log >&2; die "make failed (log: $build/make.log)"; }
for c in "${CONTRIB[@]}"; do
	make -s -C "contrib/$c" -j"$(nproc)" >>make.log 2>&1 || die "make contrib/$c failed"
done
make -s -C src/test/isolation -j"$(nproc)" >>make.log 2>&1 || die "make src/test/isolation failed"
{
	make -s install &&
		for c in "${CONTRIB[@]}"; do make -s -C "contrib/$c" install; done &&
		make -s -C src/test/isolation install
} >install.log 2>&1 || { tail -n 30 install.log >&2; die "make install failed"; }
if [ "$MAJOR" -ge 18 ]; then
	grep -q '^#define USE_LIBURING 1' src/include/pg_config.h ||
		die "built without liburing support"
fi
printf 'PostgreSQL %s (Debian source %s)\nconfigure %s (%s)\nbuilt %s in %ss\n' \
	"$("$PREFIX/bin/postgres" --version | awk '{print $3}')" "$version" \
	"${CONF[*]}" "$SOURCE_NOTE" "$(date -u +%FT%TZ)" "$(($(date +%s) - t0))" >"$STAMP"
cd /
rm -rf "$build"
[ "$PATCHED" = 0 ] || rm -rf "$srcdir"
log "done: $PREFIX ($(head -n 1 "$STAMP"))"
