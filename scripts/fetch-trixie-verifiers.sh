#!/usr/bin/env sh
# Fetches Debian trixie's cosign (2.5) and skopeo (1.18, sigstore enabled) into a cache
# directory, for the OCI e2e tests on a bookworm machine (bookworm's skopeo has sigstore
# verification patched out). See ../shared/specs/formats-pki.md §4 (notes at the end).
#
# The archive URI is taken from this machine's own apt sources at run time; nothing here
# names a host. Packages are fetched with `apt-get download` under a private apt
# configuration (this machine's apt state is not touched) and unpacked with dpkg-deb -x.
#
#   scripts/fetch-trixie-verifiers.sh [DEST]     (default: .tools/trixie)
#
# Afterwards: DEST/bin/cosign and DEST/bin/skopeo are runnable wrappers. Only-when-missing:
# a second run with both wrappers present does nothing.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-"$here/.tools/trixie"}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
# Several test files may ask at once: one fetches, the others wait for it and then find the tools.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dest/.fetch.lock"
  flock 9
fi
if [ -x "$dest/bin/cosign" ] && [ -x "$dest/bin/skopeo" ] && "$dest/bin/cosign" version >/dev/null 2>&1 && "$dest/bin/skopeo" --version >/dev/null 2>&1; then
  echo "trixie verifiers present: $("$dest/bin/skopeo" --version); cosign $("$dest/bin/cosign" version 2>&1 | sed -n 's/^GitVersion: *//p')"
  exit 0
fi

# apt for trixie from the Debian archive URI of this machine (scripts/trixie-apt.sh).
. "$(dirname "$0")/trixie-apt.sh"
trixie_apt_setup "$dest" fetch-trixie-verifiers

# skopeo's runtime closure under trixie's own loader; cosign is static enough to run directly.
pkgs="cosign skopeo"
# shellcheck disable=SC2086
closure=$(apt-cache $apt_opts depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances --no-pre-depends $pkgs 2>/dev/null | grep -E '^[a-z0-9][a-z0-9.+-]*$' | sort -u)
# Only what the binaries need: libraries (and libc); skip scripts, configs and daemons.
wanted=""
for p in $closure; do
  case "$p" in
    cosign|skopeo|libc6|libgcc-s1|libgpgme11t64|libassuan9|libgpg-error0|libdevmapper1.02.1|libselinux1|libpcre2-8-0|libudev1|libsubid5|libaudit1|libcap-ng0|libcap2|libbsd0|libmd0|libsemanage2|libsepol2|libbz2-1.0|libsystemd0|liblz4-1|liblzma5|libzstd1|libgcrypt20|libcrypt1|libseccomp2|libblkid1|libmount1|libacl1|libattr1)
      wanted="$wanted $p" ;;
  esac
done
(cd "$work/debs" && rm -f ./*.deb && \
  # shellcheck disable=SC2086
  apt-get $apt_opts -qq download $wanted)
root="$dest/root"
rm -rf "$root"
mkdir -p "$root"
for deb in "$work/debs"/*.deb; do dpkg-deb -x "$deb" "$root"; done

mkdir -p "$dest/bin"
cat > "$dest/bin/cosign" <<EOF
#!/bin/sh
exec "$root/usr/bin/cosign" "\$@"
EOF
loader=$(ls "$root"/usr/lib64/ld-linux-*.so.* "$root"/lib64/ld-linux-*.so.* "$root"/usr/lib/*/ld-linux-*.so.* 2>/dev/null | head -n1)
multi=$(ls -d "$root"/usr/lib/*-linux-gnu | head -n1)
cat > "$dest/bin/skopeo" <<EOF
#!/bin/sh
# trixie's skopeo needs glibc >= 2.38: run it under trixie's own loader and libraries.
exec "$loader" --library-path "$multi:$root/lib/$(basename "$multi")" "$root/usr/bin/skopeo" "\$@"
EOF
chmod +x "$dest/bin/cosign" "$dest/bin/skopeo"
"$dest/bin/skopeo" --version
"$dest/bin/cosign" version 2>&1 | sed -n 's/^GitVersion: */cosign /p'
