#!/usr/bin/env python3
"""Index each subset repo with the `ferret` CLI and run semble's queries through it.

Per repo: a fresh data dir <data>/<repo>; `ferret repo add <benchmark_dir> --name <repo>`
(indexes lexical + semantic in the foreground; its wall time is the index time); `ferret stats
--json`; then, unless --no-daemon, `ferret daemon` in the background so that each search is
answered by the warm process; then every query of the repo in every mode with `ferret search
--json --limit N --mode M -- "<query>"`. The daemon is stopped (SIGINT, then SIGKILL) before
the next repo. Searches give the same hits with or without the daemon.

Outputs, under --out (default /tmp/semble/runs):
  <mode>/<repo>.jsonl   one line per query, in annotation order:
                        {qid, repo, language, category, query, ms, results: [{path, start_line,
                        end_line, score, symbol, kind, lexical_rank, semantic_rank}, ...]}
  index.json            per repo: index seconds, files, chunks, embedded chunks, ferret version
  logs/<repo>.*.log     stdout/stderr of `repo add` and of the daemon

Environment: FERRET_MODEL_DIR must point at the model dir (e.g. <checkout>/.models).
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/ferret")
    ap.add_argument("--subset", default=os.path.join(HERE, "subset.json"))
    ap.add_argument("--semble", default="/tmp/semble/src", help="dir holding semble's benchmarks/")
    ap.add_argument("--repos", default="/tmp/semble/repos", help="extracted repos (fetch_repos.py)")
    ap.add_argument("--data", default="/tmp/semble/data", help="parent of the per-repo FERRET_DATA_DIRs")
    ap.add_argument("--out", default="/tmp/semble/runs")
    ap.add_argument("--modes", default="hybrid,lexical,semantic")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--only", action="append", default=[], help="run only these repos")
    ap.add_argument("--tier", action="append", default=[], help="run only these tiers (core, extra)")
    ap.add_argument("--reuse", action="store_true", help="keep an existing data dir (no re-index)")
    ap.add_argument("--skip-done", action="store_true", help="skip repos whose run files all exist")
    ap.add_argument("--no-daemon", action="store_true")
    a = ap.parse_args()

    if not os.environ.get("FERRET_MODEL_DIR"):
        sys.exit("set FERRET_MODEL_DIR (e.g. <checkout>/.models)")
    binp = os.path.abspath(a.bin)
    modes = [m for m in a.modes.split(",") if m]
    subset = json.load(open(a.subset))
    os.makedirs(os.path.join(a.out, "logs"), exist_ok=True)
    for m in modes:
        os.makedirs(os.path.join(a.out, m), exist_ok=True)
    index_path = os.path.join(a.out, "index.json")
    index_info = json.load(open(index_path)) if os.path.exists(index_path) else {}
    version = subprocess.run([binp, "--version"], capture_output=True, text=True).stdout.strip()

    for spec in subset["repos"]:
        name = spec["name"]
        if (a.only and name not in a.only) or (a.tier and spec["tier"] not in a.tier):
            continue
        outs = {m: os.path.join(a.out, m, f"{name}.jsonl") for m in modes}
        if a.skip_done and all(os.path.exists(p) for p in outs.values()):
            print(f"{name}: done already", file=sys.stderr)
            continue
        bdir = os.path.join(a.repos, name, spec["benchmark_root"] or "")
        if not os.path.isdir(bdir):
            print(f"{name}: SKIP, {bdir} missing (run fetch_repos.py)", file=sys.stderr)
            continue
        ann = json.load(open(os.path.join(a.semble, "benchmarks", "annotations", f"{name}.json")))
        env = dict(os.environ, FERRET_DATA_DIR=os.path.join(a.data, name))

        def ferret(*args, check=True):
            r = subprocess.run([binp, *args], env=env, capture_output=True, text=True)
            if check and r.returncode != 0:
                raise RuntimeError(f"ferret {' '.join(args)}: rc {r.returncode}: {r.stderr.strip()[-600:]}")
            return r

        if not (a.reuse and os.path.isdir(env["FERRET_DATA_DIR"])):
            shutil.rmtree(env["FERRET_DATA_DIR"], ignore_errors=True)
            t0 = time.time()
            r = ferret("repo", "add", bdir, "--name", name, check=False)
            secs = time.time() - t0
            with open(os.path.join(a.out, "logs", f"{name}.add.log"), "w") as f:
                f.write(r.stdout + "\n--- stderr ---\n" + r.stderr)
            if r.returncode != 0:
                print(f"{name}: repo add failed (rc {r.returncode}): {r.stderr.strip()[-400:]}", file=sys.stderr)
                continue
            stats = json.loads(ferret("stats", "--json").stdout)
            index_info[name] = {"index_s": round(secs, 2), "benchmark_dir": bdir, "ferret": version,
                                "stats": {k: v for k, v in stats.items() if not isinstance(v, (list, dict))},
                                "stats_repos": stats.get("repos")}
            json.dump(index_info, open(index_path, "w"), indent=1)
            print(f"{name}: indexed in {secs:.1f}s", file=sys.stderr)

        daemon = None
        if not a.no_daemon:
            log = open(os.path.join(a.out, "logs", f"{name}.daemon.log"), "w")
            daemon = subprocess.Popen([binp, "daemon"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
            sock = os.path.join(env["FERRET_DATA_DIR"])
            deadline = time.time() + 20
            while time.time() < deadline:  # wait for a socket file to appear anywhere in the data dir
                if any(fn.endswith(".sock") or fn == "socket" for _, _, fns in os.walk(sock) for fn in fns):
                    break
                time.sleep(0.3)
            time.sleep(0.5)
        try:
            for m in modes:
                lat = []
                with open(outs[m] + ".tmp", "w") as out:
                    for i, item in enumerate(ann):
                        if item.get("repo", name) != name:
                            continue
                        t0 = time.time()
                        r = ferret("search", "--json", "--limit", str(a.limit), "--mode", m, "--", item["query"])
                        ms = (time.time() - t0) * 1000
                        lat.append(ms)
                        hits = json.loads(r.stdout)
                        no_strong_match = None  # a build before the flag prints a bare list
                        if isinstance(hits, dict):  # {"results": [...], "no_strong_match": bool}
                            no_strong_match = hits.get("no_strong_match")
                            hits = hits.get("results") or []
                        cat = item.get("category")
                        out.write(json.dumps({
                            "qid": f"{name}#{i}", "repo": name, "language": spec["language"],
                            "category": cat, "query": item["query"], "ms": round(ms, 1),
                            "no_strong_match": no_strong_match,
                            "results": [{k: h.get(k) for k in ("path", "start_line", "end_line", "score", "symbol",
                                                                "kind", "lexical_rank", "semantic_rank", "signals")}
                                        for h in hits]}) + "\n")
                os.replace(outs[m] + ".tmp", outs[m])
                lat.sort()
                print(f"{name}: {m}: {len(lat)} queries, CLI p50 {lat[len(lat) // 2]:.0f} ms", file=sys.stderr)
        finally:
            if daemon is not None:
                try:
                    os.killpg(daemon.pid, signal.SIGINT)
                    daemon.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(daemon.pid, signal.SIGKILL)
                    daemon.wait()
                except ProcessLookupError:
                    pass


if __name__ == "__main__":
    main()
