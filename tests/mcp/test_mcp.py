#!/usr/bin/env python3
"""`ferret mcp` driven by a client nobody here wrote: the official Python MCP SDK (PyPI
`mcp`, 2.x). Builds two profiles in a temporary data directory with the real `ferret` CLI,
then checks the handshake, the tool list, every tool's answers on the polyglot fixture,
tool errors for bad input, that the second profile's code never appears, and the protocol's
edge cases over raw pipes (unknown method, malformed JSON, a cancelled request, a request
right before stdin closes, exit when the client goes away).

Run by scripts/test.sh as `tests/mcp/run.sh`; needs FERRET_BIN (default target/debug/ferret)
and FERRET_MODEL_DIR.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[2]
FERRET = os.environ.get("FERRET_BIN", str(ROOT / "target" / "debug" / "ferret"))
FIXTURE = ROOT / "tests" / "fixtures" / "polyglot"
# Only in the second profile's repository: it must never reach the first profile's agent.
SECRET_FN = "zanzibar_quartermaster_reconcile"

failures = []


def check(condition, what, detail=""):
    if condition:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}\n{detail}")
        failures.append(what)


def ferret(data, *args):
    out = subprocess.run(
        [FERRET, "--data-dir", data, *args], capture_output=True, text=True, timeout=600
    )
    if out.returncode != 0:
        sys.exit(f"ferret {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def build_profiles(data):
    work = Path(data) / "work"
    repo = work / "polyglot"
    shutil.copytree(FIXTURE, repo)
    ferret(data, "--profile", "default", "repo", "add", str(repo))
    other = work / "ledger"
    (other / "src").mkdir(parents=True)
    (other / "src" / "ledger.rs").write_text(
        f"/// Reconciles the quartermaster's ledger.\npub fn {SECRET_FN}(a: i64) -> i64 {{\n    a * 2\n}}\n"
    )
    ferret(data, "profile", "create", "other")
    ferret(data, "--profile", "other", "repo", "add", str(other))


def text_of(result):
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


async def drive(data):
    params = StdioServerParameters(
        command=FERRET,
        args=["--data-dir", data, "mcp", "--profile", "default"],
        env={**os.environ},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            started = time.monotonic()
            init = await session.initialize()
            check(init.server_info.name == "ferret", "initialize names the server")
            check(bool(init.instructions) and "search" in init.instructions, "instructions say how to start")

            tools = (await session.list_tools()).tools
            names = {t.name for t in tools}
            check(names == {"search", "read_code", "list_repos", "index_status"}, "four tools", str(names))
            for tool in tools:
                check(len(tool.description or "") > 80, f"{tool.name} has a description for a model")
                check(tool.input_schema.get("type") == "object", f"{tool.name} has an input schema")
                check(tool.annotations is not None and tool.annotations.read_only_hint, f"{tool.name} is read-only")

            first = await session.call_tool("search", {"query": "ring buffer push", "mode": "lexical"})
            latency = time.monotonic() - started
            body = text_of(first)
            check(not first.is_error and "ring_buffer.c" in body, "search finds the ring buffer", body)
            check("## polyglot: src/ring_buffer.c" in body and "| " in body, "results are grouped by file with numbered lines", body)
            print(f"     first answer {latency * 1000:.0f} ms after start")

            hybrid = await session.call_tool("search", {"query": "where is the shopping cart total computed", "limit": 5})
            body = text_of(hybrid)
            check(not hybrid.is_error and "cart" in body.lower(), "a plain-words search answers", body)

            # Once the model is loaded, hybrid answers are hybrid.
            for _ in range(60):
                if "loading" not in text_of(await session.call_tool("index_status", {})):
                    break
                await asyncio.sleep(0.5)
            warm = await session.call_tool("search", {"query": "multiply two matrices", "limit": 3})
            body = text_of(warm)
            check(not warm.is_error and "(hybrid)" in body.splitlines()[0] and "matrix" in body.lower(),
                  "with the model loaded a search is hybrid", body)

            scoped = await session.call_tool("search", {"query": "buffer", "repo": "polyglot", "mode": "lexical", "limit": 3})
            check(not scoped.is_error and "polyglot" in text_of(scoped), "search within a repository")

            unknown = await session.call_tool("search", {"query": "x", "repo": "nope"})
            check(unknown.is_error and "unknown repository" in text_of(unknown) and "polyglot" in text_of(unknown),
                  "an unknown repository is a tool error naming the known ones", text_of(unknown))
            bad = await session.call_tool("search", {"query": "x", "limit": 0})
            check(bad.is_error and "limit" in text_of(bad), "a bad limit is a tool error", text_of(bad))
            extra = await session.call_tool("search", {"query": "x", "colour": "red"})
            check(extra.is_error and "colour" in text_of(extra), "an unknown argument is a tool error", text_of(extra))
            syntax = await session.call_tool("search", {"query": "-lang:rust buffer", "mode": "lexical"})
            check(syntax.is_error and "-path" in text_of(syntax), "bad query syntax is a tool error that says why", text_of(syntax))
            missing = await session.call_tool("nonexistent_tool", {})
            check(missing.is_error, "an unknown tool is a tool error")

            lines = await session.call_tool("read_code", {"repo": "polyglot", "path": "src/ring_buffer.c", "start_line": 1, "end_line": 5})
            body = text_of(lines)
            check(not lines.is_error and "1| " in body and "5| " in body and "6| " not in body, "read_code returns numbered lines", body)
            symbol = await session.call_tool("read_code", {"repo": "polyglot", "path": "src/matrix.cpp", "symbol": "Matrix"})
            check(not symbol.is_error and "Matrix" in text_of(symbol), "read_code reads a definition by symbol", text_of(symbol))
            escape = await session.call_tool("read_code", {"repo": "polyglot", "path": "../../../etc/passwd"})
            check(escape.is_error and "root:" not in text_of(escape), "a path outside the repository is refused", text_of(escape))

            repos = await session.call_tool("list_repos", {})
            body = text_of(repos)
            check("polyglot" in body and "% semantic" in body, "list_repos lists the profile's repositories", body)
            check("ledger" not in body, "list_repos shows no other profile's repositories", body)
            status = await session.call_tool("index_status", {})
            check("semantic" in text_of(status) and not status.is_error, "index_status reports coverage", text_of(status))

            leak = await session.call_tool("search", {"query": SECRET_FN, "mode": "lexical"})
            body = text_of(leak)
            check(body.startswith("0 hits") and "ledger.rs" not in body, "another profile's code never appears", body)
            # The control: that profile does hold it.
            theirs = ferret(data, "--profile", "other", "search", SECRET_FN, "--mode", "lexical", "--json")
            check("ledger.rs" in theirs, "the other profile does hold that code (control)", theirs)


def raw_server(data):
    return subprocess.Popen(
        [FERRET, "--data-dir", data, "mcp", "--profile", "default"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
    )


def send(proc, message):
    proc.stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
    proc.stdin.flush()


def answer(proc, want_id, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            return None
        msg = json.loads(line)
        if msg.get("id") == want_id:
            return msg
    return None


def edge_cases(data):
    proc = raw_server(data)
    send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})
    init = answer(proc, 1)
    check(init is not None and "result" in init, "an older protocol revision is negotiated", str(init))
    send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})

    send(proc, {"jsonrpc": "2.0", "id": 2, "method": "no/such_method", "params": {}})
    unknown = answer(proc, 2)
    check(unknown is not None and unknown.get("error", {}).get("code") == -32601, "an unknown method is -32601", str(unknown))

    send(proc, "{this is not json")
    send(proc, {"jsonrpc": "2.0", "id": 3, "method": "ping"})
    ping = answer(proc, 3)
    check(ping is not None and "result" in ping, "malformed JSON does not stop the server", str(ping))

    send(proc, {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "search", "arguments": {"query": "matrix multiply", "mode": "lexical"}}})
    send(proc, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4, "reason": "user"}})
    send(proc, {"jsonrpc": "2.0", "id": 5, "method": "ping"})
    after_cancel = answer(proc, 5)
    check(after_cancel is not None and "result" in after_cancel, "the server goes on after a cancelled request", str(after_cancel))

    # A request sent right before the client closes stdin is still answered, then the
    # server exits cleanly.
    send(proc, {"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "list_repos", "arguments": {}}})
    proc.stdin.close()
    last = answer(proc, 6)
    check(last is not None and "polyglot" in json.dumps(last), "a request before stdin closes is answered", str(last))
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "still running after 10 s"
    check(code == 0, "the server exits cleanly when its client goes away", str(code))

    # A client that leaves while the model is still loading: exiting then used to crash in
    # ONNX Runtime's exit handlers (SIGSEGV) about half the time, so try several times.
    codes = []
    for _ in range(6):
        quick = raw_server(data)
        send(quick, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})
        answer(quick, 1)
        quick.stdin.close()
        try:
            codes.append(quick.wait(timeout=30))
        except subprocess.TimeoutExpired:
            quick.kill()
            codes.append("still running after 30 s")
    check(all(c == 0 for c in codes), "a client that leaves at once does not crash the server", str(codes))


def main():
    data = tempfile.mkdtemp(prefix="ferret-mcp-")
    try:
        build_profiles(data)
        asyncio.run(drive(data))
        edge_cases(data)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} MCP check(s) failed: {failures}")
    print("all MCP checks passed")


if __name__ == "__main__":
    main()
