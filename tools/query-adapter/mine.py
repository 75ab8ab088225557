#!/usr/bin/env python3
"""Mines (doc comment -> definition) pairs from the packages fetch.py unpacked.

Files are cut into chunks by the engine itself (`ferret dev chunks`), so a definition is
exactly the chunk the indexer would store. A chunk that opens with a doc comment (Rust
`///`, Python docstring, JSDoc/TSDoc `/** */`, Go `//` lines above a declaration) gives one pair: the comment's first
paragraph, cleaned of markup, is the question; the chunk with the comment removed is the
code. Tests, examples, benches and vendored copies are skipped, duplicate questions and
duplicate code are kept once, and each package gives at most --per-package pairs (a
seeded sample). Packages are split into train and valid by a hash of their name, so the
validation pairs come from packages training never saw.

Writes WORK/pairs.jsonl: {split, eco, package, language, path, kind, symbol, doc, code,
chunk}; `chunk` is the chunk as the indexer stores it, comment included (what a search
compares a question with when the code has a doc comment).
"""

import argparse
import ast
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import textwrap

SOURCE_EXTENSIONS = {
    ".rs": "rust",
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescript",
    ".go": "go",
}
SKIPPED_DIRS = {
    "test", "tests", "testing", "__tests__", "spec", "specs", "bench", "benches", "benchmarks",
    "example", "examples", "vendor", "vendored", "_vendor", "third_party", "fixtures", "docs",
    "doc", "node_modules", "min", "umd",
}
MAX_FILE_BYTES = 1 << 20
DEFINITION_KINDS = {
    "function", "method", "struct", "enum", "trait", "impl", "class", "interface", "type",
    "macro", "module", "const",
}


def wanted_file(rel):
    parts = rel.split("/")
    if any(p.lower() in SKIPPED_DIRS for p in parts[:-1]):
        return False
    name = parts[-1]
    if name.endswith((".d.ts", ".d.mts", ".d.cts", ".min.js")) or name == "build.rs":
        return False
    if re.match(r"(test_.*|.*_test|.*\.test|.*\.spec|conftest)\.\w+$", name):
        return False
    return os.path.splitext(name)[1] in SOURCE_EXTENSIONS


def package_root(eco, pkg_dir):
    # npm tarballs hold everything under package/; crates under <name>-<version>/; Debian's
    # Go packages under usr/share/gocode/src/<import path>/.
    if eco == "debian":
        root = os.path.join(pkg_dir, "usr", "share", "gocode", "src")
        while True:
            entries = [e for e in os.listdir(root) if not e.startswith(".")]
            if len(entries) != 1 or not os.path.isdir(os.path.join(root, entries[0])):
                return root
            root = os.path.join(root, entries[0])
    entries = [e for e in os.listdir(pkg_dir) if not e.startswith(".")]
    if eco in ("npm", "crates") and len(entries) == 1 and os.path.isdir(os.path.join(pkg_dir, entries[0])):
        return os.path.join(pkg_dir, entries[0])
    return pkg_dir


def source_files(root):
    out = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            rel = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
            if wanted_file(rel) and os.path.getsize(os.path.join(root, rel)) <= MAX_FILE_BYTES:
                out.append(rel)
    return out


# --- cleaning a comment into a question ---------------------------------------------------

STOP_LINE = re.compile(
    r"^\s*(@\w+|#+\s|:param|:returns?:|:raises?|:type|:rtype|Args:|Arguments:|Parameters\b|Returns\b|"
    r"Raises\b|Yields\b|Examples?\b|Notes?\b|See Also\b|>>>|\.\. |```|Example usage|Usage:)"
)


def clean_doc(lines):
    """The first paragraph of a comment's lines, as one line of plain words; None when it is
    too short or is not prose."""
    para = []
    for line in lines:
        if STOP_LINE.match(line):
            break
        if not line.strip():
            if para:
                break
            continue
        para.append(line.strip())
    text = " ".join(para)
    text = re.sub(r"\{@\w+\s+([^}]*)\}", lambda m: m.group(1).split()[0] if m.group(1).split() else "", text)
    text = re.sub(r"</?[a-zA-Z][^>]*>", " ", text)  # HTML tags of Javadoc/JSDoc
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # [text](link)
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)  # [text][ref]
    text = re.sub(r"\[`?([^\]`]+)`?\]", r"\1", text)  # [`Foo`]
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text)  # :func:`x`
    text = text.replace("``", "").replace("`", "").replace("**", "")
    text = re.sub(r"\s+", " ", text).strip()
    # The first two sentences: long descriptions drift from what a question asks.
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)
    text = " ".join(sentences[:2])
    if len(text) > 320:
        text = text[:320].rsplit(" ", 1)[0]
    words = re.findall(r"[A-Za-z]{2,}", text)
    if len(words) < 4 or text.lower().startswith(("deprecated", "@deprecated", "see ", "alias", "internal", "todo", "copyright")):
        return None
    return text


def split_rust(text):
    lines = text.split("\n")
    doc, code, i = [], [], 0
    while i < len(lines):
        t = lines[i].strip()
        if t.startswith("///") and not t.startswith("////"):
            doc.append(re.sub(r"^///\s?", "", t))
        elif t.startswith("#[") or t.startswith("//") or not t:
            code.append(lines[i])
        else:
            break
        i += 1
    return doc, "\n".join(code + lines[i:])


def split_go(text, symbol):
    """Go doc comments: the `//` lines right above the declaration (directives such as
    `//go:generate` are not prose). Go's convention opens the comment with the declared
    name (`NewReader returns ...`); the name is dropped so the question reads like the other
    languages' ("returns ...")."""
    lines = text.split("\n")
    doc, i = [], 0
    while i < len(lines) and lines[i].strip().startswith("//"):
        t = lines[i].strip()
        if not re.match(r"//(go:|\+build|nolint)", t):
            doc.append(re.sub(r"^//\s?", "", t))
        i += 1
    if doc:
        name = re.split(r"[.:]", symbol)[-1]
        first = doc[0].split(" ", 1)
        if first[0] in (name, symbol) and len(first) == 2:
            doc[0] = first[1]
        elif first[0] in ("A", "An", "The") and len(first) == 2 and first[1].split(" ", 1)[0] == name:
            doc[0] = first[1].split(" ", 1)[1] if " " in first[1] else ""
    return doc, "\n".join(lines[i:])


def split_block_comment(text):
    """A leading `/** ... */` (JSDoc, TSDoc, Javadoc), possibly after line comments or
    decorators: its lines, and the text without it."""
    m = re.match(r"(\s*(?:(?://[^\n]*|@[\w.]+(?:\([^)]*\))?)\s*\n)*)\s*/\*\*(?!/)(.*?)\*/[ \t]*\n?", text, re.S)
    if not m:
        return [], text
    body = m.group(2)
    doc = [re.sub(r"^\s*\*\s?", "", line) for line in body.split("\n")]
    return doc, m.group(1) + text[m.end():]


def split_python(text):
    try:
        tree = ast.parse(textwrap.dedent(text))
    except (SyntaxError, ValueError):
        return [], text
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))), None)
    if node is None or not node.body:
        return [], text
    first = node.body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)):
        return [], text
    doc = (ast.get_docstring(node, clean=True) or "").split("\n")
    lines = text.split("\n")
    code = lines[: first.lineno - 1] + lines[first.end_lineno:]
    return doc, "\n".join(code)


def pair_of(chunk):
    if chunk["kind"] not in DEFINITION_KINDS or not chunk.get("symbol"):
        return None
    # Unit tests inside source files (Rust `mod tests`): their comments describe the test.
    if re.search(r"(^|::|\.)tests?(::|\.)", chunk["symbol"]) or "#[test]" in chunk["text"]:
        return None
    lang = chunk["language"]
    if lang == "rust":
        doc, code = split_rust(chunk["text"])
    elif lang == "python":
        doc, code = split_python(chunk["text"])
    elif lang == "go":
        doc, code = split_go(chunk["text"], chunk["symbol"])
    elif lang in ("javascript", "typescript", "tsx", "java"):
        doc, code = split_block_comment(chunk["text"])
    else:
        return None
    if not doc:
        return None
    question = clean_doc(doc)
    body = [l for l in code.split("\n") if l.strip()]
    if question is None or len(body) < 2:
        return None
    return question, code.strip("\n")


def stable_hash(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:12], 16)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ferret", required=True, help="the ferret binary (for `ferret dev chunks`)")
    # 100 a package gives about 13,600 pairs, which embed in about 25 minutes on 2 shared
    # cores; 1200 gives 49,000 (the cap then bites only in a few big packages).
    ap.add_argument("--per-package", type=int, default=100)
    ap.add_argument("--valid-share", type=float, default=0.15, help="share of packages held out")
    ap.add_argument("--seed", type=int, default=26)
    args = ap.parse_args()
    src = os.path.join(args.work, "src")
    out_path = os.path.join(args.work, "pairs.jsonl")
    seen_docs, seen_code = set(), set()
    counts = {}
    with open(out_path + ".tmp", "w", encoding="utf-8") as out:
        for eco in sorted(os.listdir(src)):
            for pkg in sorted(os.listdir(os.path.join(src, eco))):
                root = package_root(eco, os.path.join(src, eco, pkg))
                files = source_files(root)
                if not files:
                    continue
                run = subprocess.run([args.ferret, "dev", "chunks", "--root", root], input="\n".join(files),
                                     capture_output=True, text=True, check=True)
                pairs = []
                for line in run.stdout.splitlines():
                    chunk = json.loads(line)
                    found = pair_of(chunk)
                    if not found:
                        continue
                    question, code = found
                    doc_key = question.lower()
                    code_key = re.sub(r"\s+", " ", code)
                    if doc_key in seen_docs or code_key in seen_code:
                        continue
                    seen_docs.add(doc_key)
                    seen_code.add(code_key)
                    pairs.append(dict(eco=eco, package=pkg, language=chunk["language"], path=chunk["path"],
                                      kind=chunk["kind"], symbol=chunk["symbol"], doc=question, code=code,
                                      chunk=chunk["text"]))
                random.Random(f"{args.seed}:{pkg}").shuffle(pairs)
                pairs = pairs[: args.per_package]
                split = "valid" if stable_hash(f"{args.seed}:{pkg}") % 1000 < args.valid_share * 1000 else "train"
                for p in pairs:
                    out.write(json.dumps(dict(split=split, **p)) + "\n")
                counts[(eco, pkg)] = (split, len(pairs), len(files))
                print(f"{eco:7} {pkg:32} {split:5} {len(pairs):5} pairs from {len(files)} files", file=sys.stderr)
    os.replace(out_path + ".tmp", out_path)
    total = sum(n for _, n, _ in counts.values())
    print(f"{total} pairs from {len(counts)} packages -> {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
