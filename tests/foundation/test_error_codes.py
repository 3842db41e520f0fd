"""The error-code registry holds every stable `code` the code base answers, and only those.

A `code` is public API (clients branch on it), so the registry in `factoryos/error_codes.py` is
checked against the source both ways, and against a checked-in snapshot: a code added without
registering it, renamed, or removed fails here. The source is read as an AST, not imported.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from factoryos import error_codes

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("factoryos", "server", "cli", "installer", "tui")
SNAPSHOT = Path(__file__).with_name("error_codes.snapshot.txt")


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in rel:
                yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _pattern(node: ast.JoinedStr) -> str:
    """An f-string code as a regex: its literal parts, anything lower_snake in the holes."""
    parts = [re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9_]+" for v in node.values]
    return "".join(parts)


def _forwarders(tree: ast.Module) -> dict[str, int]:
    """One module's helpers that take a `code` parameter and pass it on as `code=code`: name -> its position.

    e.g. `def _refuse(message, code): return ValidationFailed(message, code=code)`, so that
    `_refuse("...", "file_empty")` counts as a site of `file_empty`. Per module: two modules'
    private helpers of the same name (a TUI `_refused(exc, where)`) are not each other's.
    """
    found: dict[str, int] = {}
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        if "code" not in params + [a.arg for a in fn.args.kwonlyargs]:
            continue
        forwards = any(
            isinstance(n, ast.keyword) and n.arg == "code" and isinstance(n.value, ast.Name)
            and n.value.id == "code" for n in ast.walk(fn)
        )
        if forwards:
            index = params.index("code") if "code" in params else -1
            if params[:1] in (["self"], ["cls"]):
                index -= 1
            found[fn.name] = index
    return found


def _visible_forwarders(tree: ast.Module, public: dict[str, int]) -> dict[str, int]:
    """The module's own forwarders and the public ones it imports by name."""
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    return {**{name: i for name, i in public.items() if name in imported}, **_forwarders(tree)}


@functools.cache
def scan() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Codes found in the source, and f-string code patterns, each with where they occur."""
    modules = list(_sources())
    public = {name: i for _, tree in modules for name, i in _forwarders(tree).items() if not name.startswith("_")}
    codes: dict[str, list[str]] = defaultdict(list)
    patterns: dict[str, list[str]] = defaultdict(list)

    def add(node: ast.expr | None, where: str) -> None:
        if (value := _str(node)) is not None:
            codes[value].append(where)
        elif isinstance(node, ast.JoinedStr):
            patterns[_pattern(node)].append(where)
        elif node is not None:  # e.g. codes.get(status, f"http_{status}"): its f-strings
            for sub in ast.walk(node):
                if isinstance(sub, ast.JoinedStr):
                    patterns[_pattern(sub)].append(where)

    for rel, tree in modules:
        forwarders = _visible_forwarders(tree, public)
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                        target = stmt.targets[0].id
                        if target == "code":  # FactoryOSError subclasses: `code = "..."`
                            add(stmt.value, f"{rel}:{stmt.lineno}")
                        elif target == "entity" and (entity := _str(stmt.value)):
                            # Repository: NotFound(code=f"{entity}_not_found")
                            codes[entity.replace(" ", "_") + "_not_found"].append(f"{rel}:{stmt.lineno}")
            elif isinstance(node, ast.Assign) and [_name(t) for t in node.targets] == ["codes"]:
                # A status -> code table handed to problem(), as in server/app.py.
                if isinstance(node.value, ast.Dict):
                    for value in node.value.values:
                        add(value, where)
            elif isinstance(node, ast.Call):
                name = _name(node.func)
                for kw in node.keywords:
                    if kw.arg == "code":
                        add(kw.value, where)
                # problem(status, code, ...) in server/, and the job import's row-error helper
                # problem(field, code, message): the code is the second argument of both.
                if name == "problem" and len(node.args) >= 2:
                    add(node.args[1], where)
                elif name in forwarders and 0 <= forwarders[name] < len(node.args):
                    add(node.args[forwarders[name]], where)
    return dict(codes), dict(patterns)


def _family_regexes() -> list[re.Pattern[str]]:
    return [re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[a-z0-9_]+", re.escape(f))) for f in error_codes.FAMILIES]


def test_every_code_in_the_source_is_registered() -> None:
    codes, _ = scan()
    missing = {code: where for code, where in codes.items() if code not in error_codes.CODES}
    assert not missing, (
        "codes answered by the code base but missing from factoryos/error_codes.py "
        f"(add them there and to {SNAPSHOT.name}): {missing}"
    )


def test_every_registered_code_is_still_answered() -> None:
    codes, patterns = scan()
    regexes = [re.compile(p) for p in patterns]
    stale = sorted(
        code for code in error_codes.CODES
        if code not in codes and not any(r.fullmatch(code) for r in regexes)
    )
    assert not stale, (
        f"registered codes no longer found in the source: {stale}. A code is public API: keep "
        "answering it, or move it to RETIRED so it is never reused for something else."
    )


def test_codes_built_at_run_time_are_registered() -> None:
    _, patterns = scan()
    families = _family_regexes()
    uncovered = {
        pattern: where for pattern, where in patterns.items()
        if not any(re.fullmatch(pattern, code) for code in error_codes.CODES)
        and not any(f.pattern == pattern for f in families)
    }
    assert not uncovered, f"f-string codes with no registered code or family: {uncovered}"


def test_registry_is_disjoint_and_well_formed() -> None:
    assert not error_codes.CODES & error_codes.RETIRED
    for code in error_codes.CODES | error_codes.RETIRED:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code), code


def test_registry_matches_the_snapshot() -> None:
    """A rename or a removal in the registry shows up here, in review, as a snapshot change."""
    listed = sorted(error_codes.CODES) + [f"{c} (retired)" for c in sorted(error_codes.RETIRED)] + [
        f"{f} (family)" for f in sorted(error_codes.FAMILIES)
    ]
    expected = [line for line in SNAPSHOT.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    removed = sorted(set(expected) - set(listed))
    added = sorted(set(listed) - set(expected))
    assert not removed, f"codes gone from the registry (a code is never renamed or removed): {removed}"
    assert not added, f"new codes: add them to {SNAPSHOT.name} too: {added}"
    assert expected == listed, f"keep {SNAPSHOT.name} sorted, as the registry lists them"


def test_the_scan_sees_every_kind_of_site() -> None:
    """The scan finds codes in each form it claims to read (else the tests above prove nothing)."""
    codes, patterns = scan()
    assert "validation_failed" in codes  # class attribute of a FactoryOSError subclass
    assert "backups_unavailable" in codes  # code="..." keyword argument
    assert "internal_error" in codes  # problem(500, "internal_error", ...)
    assert "route_not_found" in codes  # status -> code table
    assert "machine_not_found" in codes  # Repository.entity
    assert "empty_file" in codes  # _refuse("...", "empty_file"): a helper passing code=code on
    assert "[a-z0-9_]+_in_progress" in patterns
