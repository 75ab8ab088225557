#!/usr/bin/env python3
"""Figures for `ferret mcp` (not a test): tokens per answer (characters / 4) of `search`
against the `rg -n` an agent would run for the same question, first-answer latency cold and
warm, and the server's RSS idle and after 100 queries.

    FERRET_BIN=target/release/ferret FERRET_MODEL_DIR=.models \\
      python3 tests/mcp/measure.py REPO_DIR EVAL_REPO_NAME

REPO_DIR is indexed into a fresh profile in a temporary data directory; the questions are
the eval set's cases for EVAL_REPO_NAME (tests/eval/cases.jsonl).
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FERRET = os.environ.get("FERRET_BIN", str(ROOT / "target" / "release" / "ferret"))
STOP = set("a an and are as at be by does do for from how in is it of on or the to what when where which who why with that this into its".split())


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    def __init__(self, data):
        self.proc = subprocess.Popen(
            [FERRET, "--data-dir", data, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.next_id = 0

    def request(self, method, params):
        self.next_id += 1
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}) + "\n")
        self.proc.stdin.flush()
        while True:
            msg = json.loads(self.proc.stdout.readline())
            if msg.get("id") == self.next_id:
                return msg

    def initialize(self):
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "measure", "version": "0"}})
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        self.proc.stdin.flush()

    def search(self, query, mode="hybrid"):
        msg = self.request("tools/call", {"name": "search", "arguments": {"query": query, "mode": mode, "limit": 10}})
        return "".join(c.get("text", "") for c in msg["result"]["content"])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def rg_output(repo, query):
    words = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]+", query) if w.lower() not in STOP]
    if not words:
        return ""
    args = ["rg", "-n", "-i", "-w"] + [a for w in words for a in ("-e", w)] + [str(repo)]
    return subprocess.run(args, capture_output=True, text=True).stdout


def main():
    repo, name = Path(sys.argv[1]).resolve(), sys.argv[2]
    cases = [json.loads(l) for l in (ROOT / "tests/eval/cases.jsonl").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    questions = [c["query"] for c in cases if c["repo"] == name]
    data = tempfile.mkdtemp(prefix="ferret-mcp-measure-")
    subprocess.run([FERRET, "--data-dir", data, "repo", "add", str(repo), "--name", name],
                   check=True, capture_output=True)

    # Cold: a new process, the first question.
    started = time.monotonic()
    server = Server(data)
    server.initialize()
    first = server.search(questions[0])
    cold_ms = (time.monotonic() - started) * 1000
    cold_lexical = "lexical results only" in first
    time.sleep(3)  # the model finishes loading
    idle = rss_kib(server.proc.pid)

    ours, theirs, warm = [], [], []
    for i in range(100):
        q = questions[i % len(questions)]
        t = time.monotonic()
        text = server.search(q)
        warm.append((time.monotonic() - t) * 1000)
        if i < len(questions):
            ours.append(len(text) / 4)
            theirs.append(len(rg_output(repo, q)) / 4)
    after = rss_kib(server.proc.pid)
    server.close()

    ratio = [o / t for o, t in zip(ours, theirs) if t > 0]
    print(f"repository {name}: {len(questions)} questions")
    print(f"tokens per answer (chars/4): ferret search median {statistics.median(ours):.0f}, "
          f"mean {statistics.mean(ours):.0f}; rg -n -i -w (content words) median "
          f"{statistics.median(theirs):.0f}, mean {statistics.mean(theirs):.0f}; "
          f"median ratio {statistics.median(ratio):.3f}")
    print(f"first answer, cold process: {cold_ms:.0f} ms ({'lexical while the model loaded' if cold_lexical else 'hybrid'})")
    warm.sort()
    print(f"warm hybrid search: p50 {warm[49]:.1f} ms, p99 {warm[98]:.1f} ms (100 queries)")
    print(f"RSS: idle {idle / 1024:.0f} MiB, after 100 queries {after / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
