#!/usr/bin/env sh
# Installs the Debian tools the tests drive as real clients, when they are missing.
# Safe to run again; uses sudo when not root.
set -eu
need=""
command -v gpg >/dev/null 2>&1 || need="$need gnupg"
command -v gpgv >/dev/null 2>&1 || need="$need gpgv"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
# Debian: the fixture archive is built with dpkg-deb, apt-ftparchive, xz and gzip; apt-get is the client.
command -v dpkg-deb >/dev/null 2>&1 || need="$need dpkg"
command -v apt-ftparchive >/dev/null 2>&1 || need="$need apt-utils"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
command -v gzip >/dev/null 2>&1 || need="$need gzip"
# OCI fixtures: the CNCF distribution registry, and skopeo to push test images into it.
[ -x /usr/bin/docker-registry ] || need="$need docker-registry"
command -v skopeo >/dev/null 2>&1 || need="$need skopeo"
# RPM: fixture repositories are built with rpmbuild, rpmsign and createrepo_c; rpmkeys and dnf are the clients.
command -v rpmbuild >/dev/null 2>&1 || need="$need rpm"
command -v createrepo_c >/dev/null 2>&1 || need="$need createrepo-c"
command -v dnf >/dev/null 2>&1 || need="$need dnf"
# Unit vectors for the xz/zstd/bzip2 metadata the RPM format decompresses.
command -v zstd >/dev/null 2>&1 || need="$need zstd"
command -v bzip2 >/dev/null 2>&1 || need="$need bzip2"
# Swift: fixture source archives are made with zip; served ones are checked with unzip.
command -v zip >/dev/null 2>&1 || need="$need zip"
command -v unzip >/dev/null 2>&1 || need="$need unzip"
# Alpine: fixture packages are built with tar and gzip; served files are split with python3's zlib and checked by openssl.
command -v tar >/dev/null 2>&1 || need="$need tar"
command -v python3 >/dev/null 2>&1 || need="$need python3"
# Second consumers of the Release files the mirror serves: python-debian and python-apt (system python).
/usr/bin/python3 -c 'import debian.deb822' >/dev/null 2>&1 || need="$need python3-debian"
/usr/bin/python3 -c 'import apt_pkg' >/dev/null 2>&1 || need="$need python3-apt"
# Python: pip (>= 22.3: PEP 691 JSON pages, PEP 658 metadata) installs through the mirror; wheels are built with python3's zipfile.
python3 -m pip --version >/dev/null 2>&1 || need="$need python3-pip"
# Maven: fixture jars and the test's Maven plugin are built with the JDK (jar, javac); mvn is the client.
command -v mvn >/dev/null 2>&1 || need="$need maven"
command -v javac >/dev/null 2>&1 || need="$need default-jdk-headless"
# Gradle: bookworm's 4.4.1 (predates dependency verification, but resolves through the mirror's init script).
command -v gradle >/dev/null 2>&1 || need="$need gradle"
if [ -n "$need" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing:$need"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need
fi
# The verifiers for OCI signatures: trixie's cosign 2.5 and skopeo 1.18 (bookworm's skopeo has
# sigstore verification patched out), into .tools/trixie when missing.
sh "$(dirname "$0")/fetch-trixie-verifiers.sh"
echo "test tools: $(gpg --version | head -n1); $(openssl version)"
