#!/usr/bin/env sh
# Fetches Debian trixie's `swiftlang` (SwiftPM with registry signing support, ~450 MB) and its
# dependency closure into a directory usable as a chroot, for the opt-in Swift e2e test
# (COUNTERSIGN_E2E_SWIFT=1). Bookworm has no Swift package, and trixie's toolchain needs
# trixie's glibc and spawns many tools of its own, so it runs in a chroot of trixie's files.
#
# The archive URI is taken from this machine's own apt sources at run time (see
# fetch-trixie-verifiers.sh); nothing here names a host. This machine's apt state is not touched.
#
#   scripts/fetch-trixie-swift.sh [DEST]     (default: .tools/trixie-swift)
#
# Afterwards DEST/root/usr/libexec/swift/bin/swift exists; run it in a mount namespace with /proc
# and /dev mounted in the chroot (root only): see test/helpers/swift-toolchain.ts.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-"$here/.tools/trixie-swift"}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dest/.fetch.lock"
  flock 9
fi
if [ -x "$dest/root/usr/libexec/swift/bin/swift" ] && [ -f "$dest/root/.complete" ]; then
  echo "trixie swift present in $dest/root"
  exit 0
fi
. "$(dirname "$0")/trixie-apt.sh"
trixie_apt_setup "$dest" fetch-trixie-swift
# swiftlang, libc6-dev (SwiftPM compiles and links every Package.swift), unzip (it extracts source
# archives with it), curl (to check TLS from inside), a shell and coreutils.
pkgs="swiftlang libc6-dev unzip curl dash bash coreutils libc-bin ca-certificates"
# shellcheck disable=SC2086
closure=$(apt-cache $apt_opts depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $pkgs 2>/dev/null | grep -E '^[a-z0-9][a-z0-9.+-]*$' | sort -u)
(cd "$work/debs" && \
  # shellcheck disable=SC2086
  for p in $closure; do
    ls "${p}"_*.deb >/dev/null 2>&1 || apt-get $apt_opts -qq download "$p" 2>/dev/null || echo "skipped virtual/unavailable: $p"
  done)
root="$dest/root"
rm -rf "$root"
mkdir -p "$root"
for deb in "$work/debs"/*.deb; do dpkg-deb -x "$deb" "$root"; done
# usrmerge layout trixie expects (the packages ship files under /usr only).
for d in bin sbin lib lib64; do [ -e "$root/$d" ] || ln -s "usr/$d" "$root/$d"; done
mkdir -p "$root/tmp" "$root/root" "$root/etc" "$root/dev" "$root/proc"
chmod 1777 "$root/tmp"
[ -f "$root/etc/passwd" ] || printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
[ -f "$root/etc/group" ] || printf 'root:x:0:\n' > "$root/etc/group"
touch "$root/.complete"
unshare --mount --fork sh -c "mount -t proc proc '$root/proc' && chroot '$root' /usr/libexec/swift/bin/swift --version" || true
