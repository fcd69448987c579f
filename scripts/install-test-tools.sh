#!/usr/bin/env sh
# Installs the Debian tools the tests drive as real clients, when they are missing.
# Safe to run again; uses sudo when not root.
set -eu
need=""
command -v gpg >/dev/null 2>&1 || need="$need gnupg"
command -v gpgv >/dev/null 2>&1 || need="$need gpgv"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
if [ -n "$need" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing:$need"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need
fi
echo "test tools: $(gpg --version | head -n1); $(openssl version)"
