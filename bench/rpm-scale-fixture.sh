#!/bin/bash
# Builds a signed RPM repository of CHUNKS×PER packages under $OUT (default /tmp/rpmscale; bench fixture, not in
# the repo): CHUNKS specs of PER subpackages each (one 20,000-subpackage spec made rpmbuild crawl),
# rpmsign with an Ed25519 key, createrepo_c, gpg --detach-sign over repomd.xml.
set -euo pipefail
CHUNKS=${CHUNKS:-20}; PER=${PER:-1000}
D=${OUT:-/tmp/rpmscale}
rm -rf $D/top $D/repo $D/gpg
mkdir -p $D/top $D/repo/Packages $D/gpg
chmod 700 $D/gpg
gpg --homedir $D/gpg --batch --quiet --passphrase '' --quick-gen-key 'Scale RPM <rpm@upstream.example>' ed25519 sign never
FPR=$(gpg --homedir $D/gpg --list-keys --with-colons | awk -F: '/^fpr/{print $10; exit}')
gpg --homedir $D/gpg --armor --export $FPR > $D/upstream-key.asc
spec() { # $1 = chunk number
  local c=$1 n="scale-c$1"
  echo "Name: $n"; echo "Version: 1.0"; echo "Release: 1"; echo "Summary: scale"; echo "License: MIT"; echo "BuildArch: noarch"
  echo "%description"; echo "scale"
  for i in $(seq -w 1 $PER); do printf '%%package -n %s-p%s\nSummary: scale package %s %s\n%%description -n %s-p%s\nScale package %s %s.\n' $n $i $c $i $n $i $c $i; done
  echo "%install"; echo "mkdir -p %{buildroot}/usr/share/$n"
  echo "for i in \$(seq -w 1 $PER); do echo \"hello $c \$i\" > %{buildroot}/usr/share/$n/p\$i.txt; done"
  for i in $(seq -w 1 $PER); do printf '%%files -n %s-p%s\n/usr/share/%s/p%s.txt\n' $n $i $n $i; done
}
date -u +%T; echo rpmbuild
for c in $(seq -w 1 $CHUNKS); do mkdir -p $D/top/$c/SPECS; spec $c > $D/top/$c/SPECS/s.spec; done
ls $D/top | xargs -P 2 -I{} rpmbuild --define "_topdir $D/top/{}" --define '_binary_payload w1.gzdio' --quiet -bb $D/top/{}/SPECS/s.spec
mv $D/top/*/RPMS/noarch/*.rpm $D/repo/Packages/
date -u +%T; echo rpmsign
cd $D/repo/Packages
ls | xargs -n 500 -P 2 env GNUPGHOME=$D/gpg rpmsign --define '__gpg /usr/bin/gpg' --define "_gpg_name $FPR" --addsign >/dev/null
date -u +%T; echo createrepo
createrepo_c --quiet $D/repo
gpg --homedir $D/gpg --batch --yes --armor --detach-sign -o $D/repo/repodata/repomd.xml.asc $D/repo/repodata/repomd.xml
date -u +%T; echo built-done $(ls $D/repo/Packages | wc -l)
