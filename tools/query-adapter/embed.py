#!/usr/bin/env python3
"""Embeds the mined pairs exactly as the engine does, with `ferret dev embed`: each question
as a search embeds a query (without any query adapter: the model's own vector), each code
chunk as the indexer embeds a chunk (under its path, kind and symbol header), once without
its doc comment (code.f32) and once as indexed, comment included (chunks.f32). Writes
WORK/queries.f32, WORK/code.f32 and WORK/chunks.f32, one little-endian f32 row per pair, in
pairs.jsonl's order."""

import argparse
import json
import os
import subprocess


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ferret", required=True)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    pairs = [json.loads(l) for l in open(os.path.join(args.work, "pairs.jsonl"), encoding="utf-8")]
    jobs = [
        ("queries", ["--query", "--no-adapter"], [{"text": p["doc"]} for p in pairs]),
        ("code", ["--document"],
         [{"path": p["path"], "kind": p["kind"], "symbol": p["symbol"], "text": p["code"]} for p in pairs]),
        ("chunks", ["--document"],
         [{"path": p["path"], "kind": p["kind"], "symbol": p["symbol"], "text": p["chunk"]} for p in pairs]),
    ]
    for name, flags, lines in jobs:
        out = os.path.join(args.work, f"{name}.f32")
        if os.path.isfile(out) and os.path.getsize(out) == len(pairs) * 384 * 4:
            continue
        payload = "".join(json.dumps(l) + "\n" for l in lines)
        subprocess.run([args.ferret, "dev", "embed", *flags, "--threads", str(args.threads), "--out", out + ".tmp"],
                       input=payload, text=True, check=True)
        os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
