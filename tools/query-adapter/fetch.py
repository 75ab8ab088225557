#!/usr/bin/env python3
"""Fetches the pinned packages of packages.tsv with their registries' own clients and
unpacks them under WORK/src/<ecosystem>/<name>-<version>/.

- crates.io: `cargo fetch` of a scratch manifest that depends on each crate at its exact
  version (cargo's cache is used first: most of them are dependencies of Ferret itself);
- PyPI: `pip download` of the wheel (wheels of pure-Python packages hold the source, and
  downloading one runs no build step);
- npm: `npm pack`;
- Debian (Go sources: Debian packages Go libraries as source, `golang-*-dev`): `apt-get
  download` of the .deb at its exact version, unpacked with `dpkg-deb -x` (no install, no
  maintainer script runs).

Every download is checked against the sha256 in packages.tsv; a package named in
exclude.txt (the repositories of every evaluation set) is refused.
"""

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def read_packages(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        eco, name, version, licence, file, sha = line.rstrip("\n").split("\t")
        rows.append(dict(eco=eco, name=name, version=version, licence=licence, file=file, sha256=sha))
    return rows


def read_excluded(path):
    names = set()
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line.lower())
    return names


def is_excluded(name, excluded):
    """A package whose name is an excluded one, or starts with one and a separator
    (`tokio-util`, `serde_json`, `@vitest/runner`); for a Debian Go package
    (`golang-github-go-chi-chi-dev`), any part of its import path."""
    n = name.lower().lstrip("@")
    if n.startswith("golang-") and n.endswith("-dev"):
        parts = n[len("golang-"):-len("-dev")].split("-")
        return any(p in excluded or p.split(".")[0] in excluded for p in parts)
    for e in excluded:
        if n == e or any(n.startswith(e + sep) for sep in ("-", "_", "/", ".")):
            return True
    return False


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cargo_cache_dirs():
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    return glob.glob(os.path.join(home, "registry", "cache", "*"))


def find_crate(file):
    for d in cargo_cache_dirs():
        path = os.path.join(d, file)
        if os.path.isfile(path):
            return path
    return None


def fetch_crates(rows, work):
    missing = [r for r in rows if not find_crate(r["file"])]
    if not missing:
        return
    scratch = os.path.join(work, "cargo-fetch")
    os.makedirs(os.path.join(scratch, "src"), exist_ok=True)
    open(os.path.join(scratch, "src", "lib.rs"), "w").close()
    deps = "\n".join(
        f'c{i} = {{ package = "{r["name"]}", version = "={r["version"]}", default-features = false }}'
        for i, r in enumerate(missing)
    )
    with open(os.path.join(scratch, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "query-adapter-fetch"\nversion = "0.0.0"\nedition = "2021"\n\n'
                f"[dependencies]\n{deps}\n")
    print(f"cargo fetch: {len(missing)} crates", file=sys.stderr)
    subprocess.run(["cargo", "fetch", "--manifest-path", os.path.join(scratch, "Cargo.toml")], check=True)


def download(row, cache):
    """The path of the package's file in `cache`, downloaded if it is not there."""
    if row["eco"] == "crates":
        return find_crate(row["file"])
    path = os.path.join(cache, row["file"])
    if os.path.isfile(path) and sha256(path) == row["sha256"]:
        return path
    if row["eco"] == "pypi":
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "--dest", cache,
             f'{row["name"]}=={row["version"]}'],
            check=True,
        )
    elif row["eco"] == "debian":
        subprocess.run(["apt-get", "download", "--quiet", f'{row["name"]}={row["version"]}'], cwd=cache,
                       check=True, stdout=subprocess.DEVNULL)
    elif row["eco"] == "npm":
        subprocess.run(["npm", "pack", "--silent", f'{row["name"]}@{row["version"]}'], cwd=cache,
                       check=True, stdout=subprocess.DEVNULL)
    else:
        raise SystemExit(f"unknown ecosystem {row['eco']}")
    return path if os.path.isfile(path) else None


def unpack(archive, dest):
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    if archive.endswith(".deb"):
        subprocess.run(["dpkg-deb", "-x", archive, tmp], check=True)
    elif archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    else:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True, help="working directory (downloads and sources)")
    ap.add_argument("--packages", default=os.path.join(HERE, "packages.tsv"))
    args = ap.parse_args()
    rows = read_packages(args.packages)
    excluded = read_excluded(os.path.join(HERE, "exclude.txt"))
    bad = [r["name"] for r in rows if is_excluded(r["name"], excluded)]
    if bad:
        raise SystemExit(f"packages.tsv names evaluation repositories: {', '.join(bad)}")
    cache = os.path.join(args.work, "downloads")
    os.makedirs(cache, exist_ok=True)
    fetch_crates([r for r in rows if r["eco"] == "crates"], args.work)
    for row in rows:
        dest = os.path.join(args.work, "src", row["eco"], f'{row["name"].replace("/", "+")}-{row["version"]}')
        stamp = os.path.join(dest, ".sha256")
        if os.path.isfile(stamp) and open(stamp).read() == row["sha256"]:
            continue
        path = download(row, cache)
        if not path:
            raise SystemExit(f'{row["eco"]} {row["name"]} {row["version"]}: download failed')
        got = sha256(path)
        if got != row["sha256"]:
            raise SystemExit(f'{path}: sha256 {got}, packages.tsv says {row["sha256"]}')
        unpack(path, dest)
        with open(stamp, "w") as f:
            f.write(row["sha256"])
        print(f'{row["eco"]} {row["name"]} {row["version"]}', file=sys.stderr)


if __name__ == "__main__":
    main()
