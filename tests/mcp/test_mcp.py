#!/usr/bin/env python3
"""`ferret mcp` driven by a client nobody here wrote: the official Python MCP SDK (PyPI
`mcp`, 2.x). Builds two profiles in a temporary data directory with the real `ferret` CLI,
then checks the handshake, the tool list, every tool's answers on the polyglot fixture,
tool errors for bad input, that the second profile's code never appears, hostile calls
(read_code by path traversal, absolute paths, symlinks out of the repository, secrets and
ignored files the indexer skipped; huge limits and odd queries), and the protocol's edge
cases over raw pipes (unknown method, malformed JSON and JSON-RPC, a cancelled request, a
request right before stdin closes, exit when the client goes away).

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
# In files of the first profile's repository that the indexer skips on purpose (a secret,
# an ignored file, a private key) and behind a symlink out of it: read_code must not show it.
SECRET_VALUE = "tok-0xC0FFEE-never-shown"

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
    # Hostile content beside the code: files the indexer skips, and links that lead out.
    (repo / ".env").write_text(f"API_TOKEN={SECRET_VALUE}\n")
    (repo / "id_rsa").write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SECRET_VALUE}\n")
    (repo / ".gitignore").write_text("notes.local\n")
    (repo / "notes.local").write_text(f"{SECRET_VALUE}\n")
    outside = work / "outside.txt"
    outside.write_text(f"{SECRET_VALUE}\n")
    (repo / "src" / "leak.rs").symlink_to(outside)
    (repo / "passwd.rs").symlink_to("/etc/passwd")
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
            check("no strong match" not in body, "a search the index answers is not flagged", body)

            # Code the index does not hold: said first, and the closest hits still follow.
            for query in ["KubernetesOperator", "how are kubernetes pods scheduled across nodes"]:
                nothing = await session.call_tool("search", {"query": query, "limit": 3})
                body = text_of(nothing)
                flag, first_file = body.find("no strong match:"), body.find("## polyglot:")
                check(not nothing.is_error and 0 <= flag < first_file,
                      f"no strong match is said above the closest hits ({query})", body)

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
            await hostile_reads(session)
            await hostile_searches(session)

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


async def hostile_reads(session):
    """read_code reaches only files Ferret indexed: no traversal, no absolute path, no
    symlink out of the repository, no secret or ignored file the indexer skipped."""
    for path, what in [
        ("../../etc/passwd", "a relative path out of the repository"),
        ("src/../../outside.txt", "a path that climbs out through a directory"),
        ("/etc/passwd", "an absolute path"),
        ("passwd.rs", "a symlink in the repository to /etc/passwd"),
        ("src/leak.rs", "a symlink in the repository to a file beside it"),
        (".env", "a .env file (skipped as a secret)"),
        ("id_rsa", "a private key (skipped as a secret)"),
        ("notes.local", "a file the repository's .gitignore excludes"),
        ("src/nope.rs", "a file that does not exist"),
    ]:
        for args in [{"start_line": 1, "end_line": 50}, {"symbol": "main"}]:
            result = await session.call_tool("read_code", {"repo": "polyglot", "path": path, **args})
            body = text_of(result)
            check(result.is_error and SECRET_VALUE not in body and "root:" not in body,
                  f"read_code refuses {what} ({', '.join(args)})", body)
    for path in ["passwd.rs", "src/leak.rs", ".env", "id_rsa", "notes.local"]:
        result = await session.call_tool("read_code", {"repo": "polyglot", "path": path})
        check("is not an indexed file of repository polyglot" in text_of(result),
              f"the refusal of {path} says why", text_of(result))
    # The indexed file beside them still reads, also at the far end of the line numbers.
    far = await session.call_tool("read_code", {"repo": "polyglot", "path": "src/ring_buffer.c",
                                                "start_line": 4294967295, "end_line": 4294967295})
    body = text_of(far)
    check(not far.is_error and "ring_buffer.c" in body and "unexpectedly" not in body,
          "read_code at line 4294967295 shows the file's end", body)
    for bad, what in [
        ({"start_line": 4294967296}, "a line number past u32"),
        ({"start_line": -1}, "a negative line"),
        ({"start_line": "1"}, "a line number as a string"),
        ({"path": ["src", "ring_buffer.c"]}, "a path as a list"),
    ]:
        result = await session.call_tool("read_code", {"repo": "polyglot", "path": "src/ring_buffer.c", **bad})
        check(result.is_error and "bad arguments for read_code" in text_of(result),
              f"read_code with {what} is a tool error", text_of(result))


async def hostile_searches(session):
    """Huge limits, odd and very long queries: a tool error or a bounded answer."""
    for limit in [51, 1000000000000, 18446744073709551615, 18446744073709551616, -1]:
        result = await session.call_tool("search", {"query": "buffer", "limit": limit})
        check(result.is_error and ("limit must be 1 to 50" in text_of(result) or "bad arguments" in text_of(result)),
              f"search with limit {limit} is a tool error", text_of(result))
    for query in ["", "   ", "\"", "repo:", "path:[", "x" * 100000, "buffer " * 5000, "\u0000 buffer",
                  "path:../../etc/passwd buffer", "lang:klingon buffer", "NOT AND OR ( ) * ^ buffer"]:
        result = await session.call_tool("search", {"query": query, "mode": "lexical", "limit": 50})
        body = text_of(result)
        ok = (result.is_error and len(body) > 10 and "unexpectedly" not in body) or (
            not result.is_error and body.count("\n## ") <= 50)
        check(ok, f"search {query[:30]!r}... answers or says why", body[:300])
    after = await session.call_tool("search", {"query": "ring buffer push", "mode": "lexical"})
    check(not after.is_error and "ring_buffer.c" in text_of(after), "search still answers after hostile calls")


def raw_server(data):
    return subprocess.Popen(
        [FERRET, "--data-dir", data, "mcp", "--profile", "default"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
    )


def send(proc, message):
    proc.stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
    proc.stdin.flush()


def answer(proc, want_id, timeout=15, seen=None):
    """The reply to request `want_id`; the messages read before it go to `seen`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            return None
        msg = json.loads(line)
        if msg.get("id") == want_id:
            return msg
        if seen is not None:
            seen.append(msg)
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

    # Malformed JSON-RPC: each gets an error or is dropped, and the server goes on.
    malformed = [
        ("[]", "an empty batch"),
        ("[1, 2]", "a batch of numbers"),
        ("null", "null"),
        ('"ping"', "a bare string"),
        ('{"jsonrpc": "1.0", "id": 90, "method": "ping"}', "another JSON-RPC version"),
        ('{"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}', "an object as id"),
        ('{"jsonrpc": "2.0", "id": 91}', "no method"),
        ('{"jsonrpc": "2.0", "id": 92, "method": "tools/call", "params": "search"}', "params as a string"),
        ('{"jsonrpc": "2.0", "id": 93, "method": "tools/call", "params": {"name": "read_code", "arguments": "../../etc/passwd"}}',
         "arguments as a string"),
        ('{"jsonrpc": "2.0", "id": 94, "method": "tools/call", "params": {"name": 7}}', "a number as tool name"),
        ('{"jsonrpc": "2.0", "id": 95, "method": "tools/call", "params": {"name": "read_code", "arguments": {"repo": "polyglot", "path": "/etc/passwd"}}}',
         "read_code of /etc/passwd over raw pipes"),
        ("{" * 100000, "deeply nested brackets"),
        ('{"jsonrpc": "2.0", "id": 96, "method": "ping", "params": {"pad": "' + "x" * 2000000 + '"}}', "a 2 MB request"),
    ]
    for n, (raw, what) in enumerate(malformed):
        send(proc, raw)
        probe = 200 + n
        send(proc, {"jsonrpc": "2.0", "id": probe, "method": "ping"})
        seen = []
        reply = answer(proc, probe, seen=seen)
        check(reply is not None and "result" in reply, f"the server answers after {what}", str(reply)[:300])
        check(proc.poll() is None, f"the server is still running after {what}")
        check(all("root:" not in json.dumps(m) for m in seen), f"nothing of /etc/passwd after {what}", str(seen)[:300])

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
