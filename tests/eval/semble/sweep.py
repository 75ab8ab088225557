#!/usr/bin/env python3
"""Score ranking-stage weight settings on already indexed repositories (the dev split).

Each setting is a `FERRET_RANK_WEIGHTS` value (`name=value,...`, see
crates/engine/src/search/rank/mod.rs); the searches of every repository are run again
against the existing data dirs (`run_ferret.py --reuse`, nothing is re-indexed) and scored
with `score.py` (chunk scoring, semble's way). Tune on dev only: the check split is run once
per build, never while choosing weights.

  python3 sweep.py --bin target/release/ferret --modes hybrid \
      "" "diversity=1" "definition=2,path=0.5"
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("settings", nargs="+", help="FERRET_RANK_WEIGHTS values; \"\" for the defaults")
    ap.add_argument("--bin", default="target/release/ferret")
    ap.add_argument("--subset", default=os.path.join(HERE, "subset-dev.json"))
    ap.add_argument("--data", default="/tmp/semble/data-dev")
    ap.add_argument("--out", default="/tmp/semble/sweep")
    ap.add_argument("--modes", default="hybrid")
    ap.add_argument("--only", action="append", default=[])
    a = ap.parse_args()

    repos = [r["name"] for r in json.load(open(a.subset))["repos"]
             if os.path.isdir(os.path.join(a.data, r["name"])) and (not a.only or r["name"] in a.only)]
    rows = []
    for i, setting in enumerate(a.settings):
        out = os.path.join(a.out, f"s{i}")
        os.makedirs(a.out, exist_ok=True)
        env = dict(os.environ, FERRET_RANK_WEIGHTS=setting)
        only = [x for r in repos for x in ("--only", r)]
        subprocess.run([sys.executable, os.path.join(HERE, "run_ferret.py"), "--bin", a.bin, "--subset", a.subset,
                        "--data", a.data, "--out", out, "--modes", a.modes, "--reuse", *only],
                       env=env, check=True, stderr=open(os.path.join(a.out, f"s{i}.log"), "w"))
        js = os.path.join(out, "score.json")
        subprocess.run([sys.executable, os.path.join(HERE, "score.py"), "--subset", a.subset, "--runs", out,
                        "--modes", a.modes, "--scoring", "chunk", "--filter", "all", "--json", js,
                        *[x for r in repos for x in ("--only", r)]],
                       check=True, stdout=subprocess.DEVNULL)
        rows.append((setting, json.load(open(js))))
        print(f"[{i}] {setting or '(defaults)'}: {summary(rows[-1][1], a.modes)}", flush=True)


def summary(score, modes):
    parts = []
    for mode in modes.split(","):
        s = score["summary"].get(f"Ferret {mode} [chunk]")
        if s is None:
            parts.append(f"{mode}: ?")
            continue
        cats = " ".join(f"{k[:4]} {v:.3f}" for k, v in sorted(s["by_category"].items()))
        parts.append(f"{mode} {s['ndcg10']:.4f} ({cats})")
    peer = score["summary"].get("semble (hybrid) [chunk]")
    if peer:
        parts.append(f"semble {peer['ndcg10']:.4f}")
    return "; ".join(parts)


if __name__ == "__main__":
    main()
