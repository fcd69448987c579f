# Sourced by the fetch-trixie-*.sh scripts: an apt configured for Debian trixie main in a private
# directory (nothing of the machine's apt state is read or written), from the machine's own
# Debian archive URI (its apt sources; no host name is written here).
#   trixie_apt_setup <dest dir> <script name>   → sets $work, $apt_opts; runs apt-get update
archive_uri() {
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources)
        awk 'BEGIN{RS="";FS="\n"} {u="";s=""; for(i=1;i<=NF;i++){ if($i ~ /^URIs:/){sub(/^URIs:[ \t]*/,"",$i);u=$i} if($i ~ /^Suites:/){sub(/^Suites:[ \t]*/,"",$i);s=$i} }
             if (u != "" && s ~ /(^| )(bookworm|trixie|stable)( |$)/) { split(u,a," "); print a[1] } }' "$f" ;;
      *) awk '$1=="deb" && $3 ~ /^(bookworm|trixie|stable)$/ {print $2}' "$f" ;;
    esac
  done | grep -v -- '-security' | head -n1
}

trixie_apt_setup() {
  uri=$(archive_uri)
  if [ -z "$uri" ]; then
    echo "$2: no Debian archive URI found in /etc/apt/sources.list{,.d}" >&2
    exit 1
  fi
  work="$1/apt"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/etc/preferences.d"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' "$uri" > "$work/sources.list"
  arch=$(dpkg --print-architecture)
  apt_opts="-o Dir::Etc::SourceList=$work/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$work/lists
 -o Dir::Cache=$work/cache -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=$work/etc/preferences.d
 -o Dir::State::Status=/dev/null -o APT::Architecture=$arch -o APT::Architectures::=$arch -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
  echo "$2: trixie main from $uri"
  # shellcheck disable=SC2086
  apt-get $apt_opts -qq update
}
