#!/usr/bin/env python3
"""Mutation testing of the modules that decide calls.

    python benchmarks/mutation.py [--module M ...] [--jobs N] [--sample K] [--seed S]
                                  [--list] [--only-lines A-B] [--no-write]

For each target module (``TARGETS``: source file -> the fast test files, or test
ids, that exercise it) a small AST mutator generates mutants inside function
bodies only (module-level constants, class-level defaults, docstrings,
annotations, logging calls, ``raise`` statements and f-strings / message strings
are left alone):

* comparisons: ``<``<->``<=``, ``>``<->``>=``, ``==``<->``!=``, ``is``<->``is not``,
  ``in``<->``not in``
* arithmetic: ``+``<->``-``, ``*``<->``/``, ``//``->``*``, ``**``->``*``, ``%``->``//``
  (also the augmented forms ``+=`` ...)
* constants: ``0``<->``1``, other integers ``n``->``n+1``, floats ``0.0``<->``1.0``,
  other floats ``x``->``x*2``, ``True``<->``False``
* ``and``<->``or``; a removed ``not``; ``if``/``while``/``x if c else y`` condition
  negated; ``return X`` -> ``return None``

Each mutant is spliced into the source text (only the mutated node's span
changes), written over the file in place, and the mapped tests are run with
``pytest -x -q -p no:cacheprovider`` under a timeout of 3x their baseline time
(at least 20 s).  The original text is written back in a ``finally`` block
(also on Ctrl-C), and at the end every target file's SHA-256 is checked against
the one read before the run.  Outcomes: killed (tests fail), survived (tests
pass), timeout (counted as killed), incompetent (mutant does not compile;
dropped).  With ``--jobs N`` > 1 each worker mutates its own copy of the
package (``src/deepamp`` plus the compiled extensions, imported through
``PYTHONPATH`` with the editable finder switched off), so the worktree is only
read.

Results are merged per module into ``benchmarks/results/mutation.json`` and
rendered as ``benchmarks/results/mutation.md``; classifications of survivors
(equivalent / harmless / test gap, with a reason) live in
``benchmarks/mutation_survivors.json`` keyed by ``file:line:mutation`` and are
carried into the report.

Sampling: when a module has more mutants than ``--sample K`` (default: all),
``random.Random(seed).sample`` picks K of them (seed 20261204 by default), and
the report says so.
"""
from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLASSIFY = ROOT / "benchmarks" / "mutation_survivors.json"
SEED = 20261204

#: module (path under src/deepamp) -> pytest arguments (fast tests that exercise it)
TARGETS: dict[str, list[str]] = {
    "filters.py": ["tests/test_filters.py"],
    "calling/snvs.py": ["tests/test_call.py", "tests/test_hotspots.py", "tests/test_background.py",
                        "tests/test_matched_and_artefacts.py", "-k", "not demo"],
    "calling/call.py": ["tests/test_call.py", "tests/test_filters.py", "tests/test_hotspots.py",
                        "tests/test_matched_and_artefacts.py", "tests/test_background.py", "tests/test_decisions.py",
                        "-k", "not demo and not interrupted and not cohort"],
    "calling/hotspots.py": ["tests/test_hotspots.py"],
    "calling/detection.py": ["tests/test_detection_limit.py"],
    "models/background.py": ["tests/test_model.py", "tests/test_background.py"],
    "models/matched_normal.py": ["tests/test_matched_and_artefacts.py"],
    "models/detection_limit.py": ["tests/test_detection_limit.py"],
    "models/indel_context.py": ["tests/test_indels.py"],
    "options.py": ["tests/test_options.py", "tests/test_filters.py", "tests/test_decisions.py", "-k",
                   "not decisions or every_call_flag"],
    "workflow/cohort_table.py": ["tests/test_cohort_table.py",
                                 "tests/test_decisions.py::test_cohort_recurrence_counts_all_and_passing_calls"],
    "phase.py": ["tests/test_phase.py"],
}

LOG_NAMES = {"log", "logger", "logging", "warnings", "_log", "LOG"}
CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
BIN_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
            ast.FloorDiv: ast.Mult, ast.Pow: ast.Mult, ast.Mod: ast.FloorDiv}
OP_TEXT = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
           ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in", ast.Add: "+",
           ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Pow: "**", ast.Mod: "%",
           ast.And: "and", ast.Or: "or"}


@dataclass
class Mutant:
    module: str
    line: int
    col: int
    end_line: int
    end_col: int
    kind: str
    description: str
    replacement: str

    @property
    def key(self) -> str:
        return f"{self.module}:{self.line}:{self.description}"


# --------------------------------------------------------------------------- generation

def _is_log_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    if isinstance(f, ast.Attribute):
        base = f.value
        if isinstance(base, ast.Name) and base.id in LOG_NAMES:
            return True
        if isinstance(base, ast.Attribute) and base.attr in LOG_NAMES:
            return True
    return isinstance(f, ast.Name) and f.id in {"print", "warn"}


def _skipped_children(node: ast.AST) -> set[int]:
    """ids of sub-nodes not to descend into (annotations, docstrings, messages)."""
    skip: set[int] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        if node.returns is not None:
            skip.add(id(node.returns))
        skip.add(id(node.args))  # defaults and annotations are the signature, not the body
        skip.update(id(d) for d in node.decorator_list)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            skip.add(id(body[0]))
    if isinstance(node, ast.AnnAssign):
        skip.add(id(node.annotation))
    return skip


class _Collector:
    def __init__(self, module: str, source: str) -> None:
        self.module = module
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.mutants: list[Mutant] = []

    def seg(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ast.unparse(node)

    def add(self, node: ast.AST, kind: str, desc: str, replacement: str) -> None:
        self.mutants.append(Mutant(self.module, node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                                   kind, desc, replacement))

    def visit(self, node: ast.AST, in_func: bool) -> None:
        if isinstance(node, (ast.JoinedStr, ast.Raise, ast.Assert, ast.Global, ast.Nonlocal, ast.Import,
                             ast.ImportFrom)):
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return
        if _is_log_call(node):
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_func = True
        if in_func:
            self.mutate(node)
        skip = _skipped_children(node)
        for child in ast.iter_child_nodes(node):
            if id(child) not in skip:
                self.visit(child, in_func)

    def mutate(self, node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                new = CMP_SWAP.get(type(op))
                if new is None:
                    continue
                m = copy.deepcopy(node)
                m.ops[i] = new()
                self.add(node, "cmp", f"{OP_TEXT[type(op)]} -> {OP_TEXT[new]}", f"({ast.unparse(m)})")
        elif isinstance(node, ast.BinOp):
            new = BIN_SWAP.get(type(node.op))
            strish = any(isinstance(x, (ast.JoinedStr,)) or (isinstance(x, ast.Constant) and isinstance(x.value, (str, bytes)))
                         for x in (node.left, node.right))
            if new is not None and not strish:
                m = copy.deepcopy(node)
                m.op = new()
                self.add(node, "arith", f"{OP_TEXT[type(node.op)]} -> {OP_TEXT[new]}", f"({ast.unparse(m)})")
        elif isinstance(node, ast.AugAssign):
            new = BIN_SWAP.get(type(node.op))
            if new is not None and not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                m = copy.deepcopy(node)
                m.op = new()
                self.add(node, "arith", f"{OP_TEXT[type(node.op)]}= -> {OP_TEXT[new]}=", ast.unparse(m))
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            m = copy.deepcopy(node)
            m.op = new()
            self.add(node, "bool", f"{OP_TEXT[type(node.op)]} -> {OP_TEXT[new]}", f"({ast.unparse(m)})")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self.add(node, "not", "removed not", f"({self.seg(node.operand)})")
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                self.add(node, "const", f"{v} -> {not v}", str(not v))
            elif isinstance(v, int):
                new = 1 if v == 0 else 0 if v == 1 else v + 1
                self.add(node, "const", f"{v} -> {new}", repr(new))
            elif isinstance(v, float):
                new = 1.0 if v == 0.0 else 0.0 if v == 1.0 else v * 2
                self.add(node, "const", f"{v!r} -> {new!r}", repr(new))
        if isinstance(node, (ast.If, ast.While, ast.IfExp)):
            t = node.test
            if not (isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not)):
                self.mutants.append(Mutant(self.module, t.lineno, t.col_offset, t.end_lineno, t.end_col_offset,
                                           "negate", f"negated condition `{_short(self.seg(t))}`",
                                           f"(not ({self.seg(t)}))"))
        if isinstance(node, ast.Return) and node.value is not None \
                and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            v = node.value
            self.mutants.append(Mutant(self.module, v.lineno, v.col_offset, v.end_lineno, v.end_col_offset,
                                       "return", f"return `{_short(self.seg(v))}` -> return None", "None"))


def _short(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def generate(module: str) -> list[Mutant]:
    path = ROOT / "src" / "deepamp" / module
    source = path.read_text()
    c = _Collector(module, source)
    c.visit(ast.parse(source), False)
    # de-duplicate (same span, same replacement)
    seen, out = set(), []
    for m in c.mutants:
        k = (m.line, m.col, m.end_line, m.end_col, m.replacement)
        if k not in seen:
            seen.add(k)
            out.append(m)
    # a description unique per line (two `<` on one line get #2 ...)
    counts: dict[tuple[int, str], int] = {}
    for m in out:
        k = (m.line, m.description)
        counts[k] = counts.get(k, 0) + 1
        if counts[k] > 1:
            m.description += f" #{counts[k]}"
    return out


def apply(source: str, m: Mutant) -> str:
    lines = source.splitlines(keepends=True)
    offs = [0]
    for ln in lines:
        offs.append(offs[-1] + len(ln))

    def at(line: int, col: int) -> int:  # col is a UTF-8 byte offset
        text = lines[line - 1]
        return offs[line - 1] + len(text.encode()[:col].decode())

    a, b = at(m.line, m.col), at(m.end_line, m.end_col)
    return source[:a] + m.replacement + source[b:]


# --------------------------------------------------------------------------- running

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_tests(tests: list[str], timeout: float | None, env: dict[str, str], cwd: Path = ROOT) -> tuple[str, float]:
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return "timeout", time.perf_counter() - t0
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    dt = time.perf_counter() - t0
    if rc == 0:
        return "survived", dt
    if rc == 5:  # no tests collected
        return "error", dt
    return "killed", dt


class Worker:
    """Mutates one package tree: the worktree itself (in place) or a private copy."""

    def __init__(self, index: int, private: bool) -> None:
        self.env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.tmp = None
        self.cwd = ROOT
        if private:
            self.tmp = Path(tempfile.mkdtemp(prefix=f"deepamp-mut{index}-"))
            import importlib.util  # the installed package, for its compiled extensions
            spec = importlib.util.find_spec("deepamp._core")
            installed = Path(spec.origin).parent if spec is not None and spec.origin else None
            shutil.copytree(ROOT / "src" / "deepamp", self.tmp / "src" / "deepamp",
                            ignore=shutil.ignore_patterns("__pycache__"))
            if installed is not None:
                for so in installed.glob("*.so"):
                    shutil.copy2(so, self.tmp / "src" / "deepamp" / so.name)
            self.env["PYTHONPATH"] = str(self.tmp / "src") + os.pathsep + str(self.tmp) + os.pathsep + self.env.get("PYTHONPATH", "")
            # the editable install's import hook would still serve the worktree: drop it at start-up
            (self.tmp / "sitecustomize.py").write_text(
                "import sys\n"
                "sys.meta_path[:] = [f for f in sys.meta_path\n"
                "                    if not type(f).__module__.startswith('_editable_skbc_')]\n")
            self.pkg = self.tmp / "src" / "deepamp"
            # the tests too, so that editing the worktree during a run changes nothing in it
            shutil.copytree(ROOT / "tests", self.tmp / "tests", ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy2(ROOT / "pyproject.toml", self.tmp / "pyproject.toml")
            self.cwd = self.tmp
            self.env["DEEPAMP_MUTATION_PKG"] = str(self.pkg)
        else:
            self.pkg = ROOT / "src" / "deepamp"

    def run(self, m: Mutant, tests: list[str], timeout: float) -> tuple[str, float]:
        path = self.pkg / m.module
        original = path.read_text()
        mutated = apply(original, m)
        try:
            compile(mutated, str(path), "exec")
        except SyntaxError:
            return "incompetent", 0.0
        try:
            path.write_text(mutated)
            for pyc in (path.parent / "__pycache__").glob(path.stem + ".*.pyc"):
                pyc.unlink()
            return run_tests(tests, timeout, self.env, self.cwd)
        finally:
            path.write_text(original)

    def close(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _check_private_import(worker: Worker) -> None:
    out = subprocess.run([sys.executable, "-c", "import deepamp.filters, deepamp._core; print(deepamp.filters.__file__)"],
                         env=worker.env, cwd=worker.cwd, capture_output=True, text=True)
    if not out.stdout.strip().startswith(str(worker.pkg)):
        raise SystemExit(f"--jobs > 1: the private copy is not what gets imported ({out.stdout.strip()} "
                         f"{out.stderr.strip()[-300:]}); use --jobs 1")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", action="append", help="target (e.g. filters.py, calling/snvs.py); repeatable; "
                    "default: all of " + ", ".join(TARGETS))
    ap.add_argument("--jobs", type=int, default=1, help="mutants run at once (private package copies if > 1)")
    ap.add_argument("--isolated", action="store_true",
                    help="mutate a private copy of the package and tests even with --jobs 1 (the worktree is only read)")
    ap.add_argument("--sample", type=int, default=None, help="at most this many mutants per module (random, seeded)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--list", action="store_true", help="only list the mutants")
    ap.add_argument("--lines", default=None, help="only mutants on lines A-B (re-checking a fix)")
    ap.add_argument("--survivors", action="store_true",
                    help="re-run only the mutants that survived in benchmarks/results/mutation.json (after adding tests)")
    ap.add_argument("--report", action="store_true",
                    help="only re-render mutation.md (and the classifications in mutation.json) from mutation.json")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/results")
    args = ap.parse_args(argv)

    if args.report:
        write_results(json.loads((RESULTS / "mutation.json").read_text()))
        return 0
    modules = args.module or list(TARGETS)
    for mod in modules:
        if mod not in TARGETS:
            ap.error(f"unknown module {mod!r}; known: {', '.join(TARGETS)}")

    hashes = {mod: _sha(ROOT / "src" / "deepamp" / mod) for mod in TARGETS}
    results_path = RESULTS / "mutation.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"modules": {}}
    private = args.jobs > 1 or args.isolated
    workers = [Worker(i, private) for i in range(max(1, args.jobs))]
    try:
        if private:
            _check_private_import(workers[0])
        for mod in modules:
            tests = TARGETS[mod]
            mutants = generate(mod)
            total = len(mutants)
            if args.lines:
                a, b = (int(x) for x in args.lines.split("-"))
                mutants = [m for m in mutants if a <= m.line <= b]
            sampled = args.sample is not None and len(mutants) > args.sample
            if args.survivors:
                old = results["modules"].get(mod)
                if old is None:
                    print(f"{mod}: no earlier results, skipped")
                    continue
                want = {o["description"] + f"@{o['line']}" for o in old["mutants"] if o["status"] == "survived"}
                mutants = [m for m in mutants if m.description + f"@{m.line}" in want]
                if len(mutants) != len(want):
                    print(f"{mod}: {len(want) - len(mutants)} survivors no longer generated (source changed?)")
                sampled = False
            elif sampled:
                mutants = sorted(random.Random(args.seed).sample(mutants, args.sample), key=lambda m: (m.line, m.col))
            if args.list:
                for m in mutants:
                    print(f"{m.key}  => {_short(m.replacement, 70)}")
                print(f"{mod}: {len(mutants)} of {total} mutants")
                continue
            status, base = run_tests(tests, None, workers[0].env, workers[0].cwd)
            if status != "survived":
                raise SystemExit(f"{mod}: the mapped tests fail without any mutant ({' '.join(tests)})")
            timeout = max(20.0, 3 * base)
            print(f"{mod}: {len(mutants)} mutants (of {total}), tests {' '.join(tests)} "
                  f"baseline {base:.1f}s timeout {timeout:.0f}s", flush=True)
            outcomes: list[dict] = [None] * len(mutants)  # type: ignore[list-item]
            free = list(workers)

            def one(i: int) -> None:
                w = free.pop()
                try:
                    st, dt = w.run(mutants[i], tests, timeout)
                finally:
                    free.append(w)
                outcomes[i] = {**asdict(mutants[i]), "status": st, "seconds": round(dt, 2)}
                print(f"  [{i + 1}/{len(mutants)}] {st:11s} {mutants[i].key}", flush=True)

            t0 = time.perf_counter()
            if len(workers) == 1:
                # in the main thread: Ctrl-C / SIGTERM unwinds through Worker.run's restoring finally
                for i in range(len(mutants)):
                    one(i)
            else:
                with ThreadPoolExecutor(len(workers)) as pool:
                    list(pool.map(one, range(len(mutants))))
            entry = {
                "tests": tests, "baseline_seconds": round(base, 2), "timeout_seconds": round(timeout, 1),
                "mutants_generated": total, "sampled": sampled, "sample": args.sample if sampled else None,
                "seed": args.seed if sampled else None, "lines": args.lines,
                "wall_seconds": round(time.perf_counter() - t0, 1),
                "source_sha256": hashes[mod], "mutants": outcomes,
            }
            if (args.lines or args.survivors) and mod in results["modules"]:
                # re-check of some mutants: replace those outcomes, keep the rest
                old = results["modules"][mod]
                redone = {(o["line"], o["description"]) for o in outcomes}
                keep = [o for o in old["mutants"] if (o["line"], o["description"]) not in redone]
                entry = {**old, "mutants": sorted(keep + outcomes, key=lambda o: (o["line"], o["col"])),
                         "source_sha256": hashes[mod], "tests": tests}
            results["modules"][mod] = entry
            if not args.no_write:
                # merge into the file as it is now (another run may have written other modules meanwhile)
                on_disk = json.loads(results_path.read_text()) if results_path.exists() else {"modules": {}}
                on_disk["modules"][mod] = entry
                write_results(on_disk)
            s = score(entry)
            print(f"{mod}: killed {s['killed']} survived {s['survived']} timeout {s['timeout']} "
                  f"score {s['score']:.1%}", flush=True)
    finally:
        for w in workers:
            w.close()
        bad = [mod for mod, h in hashes.items() if _sha(ROOT / "src" / "deepamp" / mod) != h]
        if bad:
            print(f"ERROR: source changed after the run: {bad}", file=sys.stderr)
            return 2
    return 0


def score(entry: dict) -> dict:
    ms = [o for o in entry["mutants"] if o["status"] not in ("incompetent", "error")]
    k = sum(o["status"] == "killed" for o in ms)
    t = sum(o["status"] == "timeout" for o in ms)
    s = sum(o["status"] == "survived" for o in ms)
    eq = sum(o["status"] == "survived" and o.get("classification") == "equivalent" for o in ms)
    return {"killed": k, "timeout": t, "survived": s, "equivalent": eq, "total": len(ms),
            "score": (k + t) / len(ms) if ms else 1.0,
            "score_without_equivalent": (k + t) / (len(ms) - eq) if len(ms) > eq else 1.0}


def write_results(results: dict) -> None:
    classes = json.loads(CLASSIFY.read_text()) if CLASSIFY.exists() else {}
    for mod, entry in results["modules"].items():
        for o in entry["mutants"]:
            if o["status"] == "survived":
                key = f"{o['module']}:{o['line']}:{o['description']}"
                c = classes.get(key)
                o["classification"], o["reason"] = (c["class"], c["reason"]) if c else ("unclassified", "")
            else:
                o.pop("classification", None)
                o.pop("reason", None)
        entry["score"] = score(entry)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mutation.json").write_text(json.dumps(results, indent=1) + "\n")
    out = ["# Mutation testing", "",
           "`python benchmarks/mutation.py` (see its docstring): AST mutants of the decision modules, each run "
           "against the module's fast tests (`pytest -x`, timeout 3x baseline). Score = (killed + timeout) / "
           "(mutants that compile). Survivors are classified in `benchmarks/mutation_survivors.json`.", "",
           "Score without equivalent = (killed + timeout) / (mutants - survivors classified equivalent).", "",
           "Sampling: 'all N' ran every mutant generated for the module; 'random K of N' ran the K that "
           "`random.Random(seed).sample(mutants, K)` picked (`--sample K --seed S`). A survivor re-run after "
           "tests were added (`--survivors`) replaces its earlier outcome; the tests column is the mapping of "
           "the latest run.", "",
           "| module | tests | mutants run | killed | timeout | survived (equivalent) | score | score without "
           "equivalent | sampling |",
           "|---|---|---|---|---|---|---|---|---|"]
    for mod, e in sorted(results["modules"].items()):
        s = e["score"]
        samp = (f"random {e['sample']} of {e['mutants_generated']} (seed {e['seed']})" if e.get("sampled")
                else f"all {e['mutants_generated']}")
        if e.get("sampled") and s["total"] > e["sample"]:    # mutants of a --lines re-check outside the sample
            samp += f" + {s['total'] - e['sample']} re-checked with --lines"
        out.append(f"| {mod} | {' '.join(t.replace('tests/', '') for t in e['tests'])} | {s['total']} | "
                   f"{s['killed']} | {s['timeout']} | {s['survived']} ({s['equivalent']}) | {s['score']:.1%} | "
                   f"{s['score_without_equivalent']:.1%} | {samp} |")
    tot = [score(e) for e in results["modules"].values()]
    n, kt = sum(x["total"] for x in tot), sum(x["killed"] + x["timeout"] for x in tot)
    eqs = sum(x["equivalent"] for x in tot)
    if n:
        out.append(f"| **all** | | {n} | | | {n - kt} ({eqs}) | {kt / n:.1%} | {kt / max(n - eqs, 1):.1%} | |")
    out += ["", "## Survivors", ""]
    for mod, e in sorted(results["modules"].items()):
        surv = [o for o in e["mutants"] if o["status"] == "survived"]
        if not surv:
            continue
        out += [f"### {mod}", "", "| line | mutation | class | why |", "|---|---|---|---|"]
        for o in surv:
            desc, why = (o[k].replace("|", "\\|") for k in ("description", "reason"))
            out.append(f"| src/deepamp/{mod}:{o['line']} | {desc} | {o['classification']} | {why} |")
        out.append("")
    (RESULTS / "mutation.md").write_text("\n".join(out) + "\n")


def _terminate(signum, frame):  # SIGTERM: unwind like Ctrl-C so that every finally restores the source
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
