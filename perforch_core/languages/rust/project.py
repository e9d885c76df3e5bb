"""Rust crates: the crate whose ``Cargo.toml`` is nearest the file (inside its workspace, when
there is one). Unit tests in any ``#[cfg(test)]`` module of ``src/``, integration tests in
``tests/`` and the function's doctest judge it when they call it (directly or through helpers);
so do the tests of the workspace's other members that depend on the crate. They run with
``cargo test --offline`` against the user's cargo registry. The crate's criterion benchmarks
(``benches/`` targets with ``criterion_group!``) whose functions reach it the same way are the
user's benchmarks: measured instead of the tests."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tree_sitter

from ...models import ProjectSpec, TestCase
from ...projects.search import add_body, find_up, reaching, relative, walk
from . import SUPPORT


@dataclass(frozen=True)
class RustFn:
    path: str  # module path within its target, e.g. geometry::tests::area_works
    name: str
    code: str
    is_test: bool


def _module_path(file: Path, src: Path) -> list[str]:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts and parts[-1] in ("lib", "main", "mod"):
        parts.pop()
    return parts


def items(text: str, base: list[str]) -> list[RustFn]:
    """Every function in ``text`` with its module path (inline ``mod`` blocks followed)."""
    tree = SUPPORT.parse(text)
    out: list[RustFn] = []

    def visit(node: tree_sitter.Node, mods: list[str]) -> None:
        attrs: list[str] = []
        for child in node.named_children:
            if child.type == "attribute_item":
                attrs.append(child.text.decode() if child.text else "")
                continue
            if child.type == "function_item":
                name_node = child.child_by_field_name("name")
                if name_node is not None and name_node.text is not None:
                    name = name_node.text.decode()
                    code = child.text.decode() if child.text else ""
                    is_test = any(a.rstrip("]").endswith("test") for a in attrs)
                    out.append(RustFn("::".join([*mods, name]), name, code, is_test))
            elif child.type == "mod_item":
                body = child.child_by_field_name("body")
                name_node = child.child_by_field_name("name")
                if body is not None and name_node is not None and name_node.text is not None:
                    visit(body, [*mods, name_node.text.decode()])
            elif child.type in ("impl_item", "trait_item"):
                body = child.child_by_field_name("body")
                if body is not None:
                    visit(body, mods)
            attrs = []

    visit(tree.root_node, base)
    return out


def _manifest(manifest: Path) -> dict[str, Any]:
    """A Cargo.toml's tables; empty when it cannot be read."""
    try:
        return tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


def _dependencies(manifest: Path) -> list[tuple[str, Any]]:
    """A manifest's (dev-)dependencies: (key, its version string or table)."""
    data = _manifest(manifest)
    return [
        (key, value)
        for table in ("dependencies", "dev-dependencies")
        for key, value in (data.get(table) or {}).items()
    ]


def _crate_name(manifest: Path) -> str | None:
    data = _manifest(manifest)
    package = data.get("package")
    return str(package["name"]) if isinstance(package, dict) and "name" in package else None


def _depends_on(manifest: Path, name: str) -> bool:
    """Whether a crate's manifest lists ``name`` among its (dev-)dependencies."""
    return any(
        key == name or (isinstance(value, dict) and value.get("package") == name)
        for key, value in _dependencies(manifest)
    )


def _dependents(root: Path, crate: Path, name: str) -> list[tuple[str, Path]]:
    """The workspace's other member crates that depend on ``name``: (their name, directory)."""
    if root == crate:
        return []
    found = []
    for manifest in walk(root, ("Cargo.toml",)):
        other = manifest.parent
        member = _crate_name(manifest)
        if other != crate and member and _depends_on(manifest, name):
            found.append((member, other))
    return found


def _crate_fns(crate: Path, root: Path) -> list[tuple[str, str, RustFn]]:
    """(integration test target or "", file, function) for every function of a crate."""
    fns: list[tuple[str, str, RustFn]] = []
    src = crate / "src"
    for file in walk(src, (".rs",)) if src.is_dir() else ():
        text = _read(file)
        if text is not None:
            fns += [("", relative(file, root), f) for f in items(text, _module_path(file, src))]
    tests_dir = crate / "tests"
    for file in sorted(tests_dir.glob("*.rs")) if tests_dir.is_dir() else ():
        text = _read(file)
        if text is not None:
            fns += [(file.stem, relative(file, root), f) for f in items(text, [])]
    return fns


CRITERION = re.compile(r"\bcriterion_(?:group|main)\s*!")


def _bench_targets(crate: Path) -> list[tuple[str, Path]]:
    """The crate's bench targets that criterion drives: (target name, file). Cargo's own
    discovery (``benches/*.rs``, ``benches/NAME/main.rs``) and ``[[bench]]`` entries."""
    found: dict[str, Path] = {}
    benches = crate / "benches"
    if benches.is_dir():
        for file in sorted(benches.glob("*.rs")):
            found[file.stem] = file
        for main in sorted(benches.glob("*/main.rs")):
            found[main.parent.name] = main
    data = _manifest(crate / "Cargo.toml")
    for entry in data.get("bench") or []:
        if isinstance(entry, dict) and "name" in entry:
            name = str(entry["name"])
            found[name] = crate / str(entry.get("path", f"benches/{name}.rs"))
    out = []
    for name, file in found.items():
        text = _read(file)
        if text is not None and CRITERION.search(text):
            out.append((name, file))
    return out


def _path_depends(manifest: Path, crate: Path) -> bool:
    """Whether a manifest depends on ``crate`` by path (a benchmarks crate beside the code)."""
    for _, value in _dependencies(manifest):
        path = value.get("path") if isinstance(value, dict) else None
        if path is not None and (manifest.parent / str(path)).resolve() == crate.resolve():
            return True
    return False


def _bench_crates(crate: Path, dependents: list[tuple[str, Path]]) -> list[Path]:
    """Where the function's benchmarks may be: its crate, the workspace members that depend
    on it, and crates inside its directory that depend on it by path (``benchmarks/``)."""
    crates = [crate, *(d for _, d in dependents)]
    for manifest in walk(crate, ("Cargo.toml",)):
        if manifest.parent not in crates and _path_depends(manifest, crate):
            crates.append(manifest.parent)
    return crates


def _benchmarks(
    crates: list[Path], root: Path, bodies: dict[str, str], function: str, is_method: bool
) -> list[TestCase]:
    """The criterion benchmark functions of ``crates`` that reach ``function``, as test cases
    with ids ``bench:TARGET:FN`` (the file says which crate's)."""
    cases: list[TestCase] = []
    for crate in crates:
        for target, file in _bench_targets(crate):
            text = _read(file) or ""
            fns = [f for f in items(text, []) if not f.is_test]
            local = dict(bodies)
            for f in fns:  # the file's helpers are called by their simple name
                local[f"bench:{target}:{f.name}"] = f.code
                add_body(local, f.name, f.code)
            how = reaching(local, function, method_calls=is_method)
            groups = _groups(text)
            for f in fns:
                reason = how.get(f"bench:{target}:{f.name}")
                if reason is not None and re.search(rf"\b{re.escape(f.name)}\b", groups):
                    cases.append(
                        TestCase(
                            id=f"bench:{target}:{f.name}",
                            file=relative(file, root),
                            found_by=reason,
                            code=f.code,
                        )
                    )
    return cases


def _groups(text: str) -> str:
    """What the file's ``criterion_group!`` invocations list (the functions criterion runs):
    the text from each to the next group or ``criterion_main!``."""
    parts = re.split(r"\bcriterion_(group|main)\s*!", text)
    return " ".join(parts[i + 1] for i in range(1, len(parts) - 1, 2) if parts[i] == "group")


def _workspace_root(crate: Path) -> Path:
    for directory in crate.parents:
        manifest = directory / "Cargo.toml"
        if manifest.exists() and "[workspace]" in manifest.read_text(
            encoding="utf-8", errors="replace"
        ):
            return directory
    return crate


def discover(path: Path, function: str, has_doctest: bool) -> ProjectSpec | None:
    crate = find_up(path.parent, ("Cargo.toml",))
    if crate is None:
        return None
    name = _crate_name(crate / "Cargo.toml")
    if name is None:
        return None
    root = _workspace_root(crate)
    # (member crate, or "" for the function's own; integration test or ""; file; function)
    fns = [("", target, file, f) for target, file, f in _crate_fns(crate, root)]
    dependents = _dependents(root, crate, name)
    for member, directory in dependents:
        fns += [(member, target, file, f) for target, file, f in _crate_fns(directory, root)]

    def key(member: str, f: RustFn) -> str:
        return f"{member}/{f.path}" if member else f.path

    bodies = {key(m, f): f.code for m, _, _, f in fns if f.is_test}
    helpers: dict[str, str] = {}
    for _, _, _, f in fns:  # helpers are called by their simple name
        if not f.is_test:
            add_body(bodies, f.name, f.code)
            add_body(helpers, f.name, f.code)
    own = next((f for m, _, _, f in fns if not m and f.name == function and not f.is_test), None)
    is_method = own is not None and re.search(r"\(\s*&?\s*(?:mut\s+)?self\b", own.code) is not None
    how = reaching(bodies, function, method_calls=is_method)
    tests: list[TestCase] = []
    others = 0
    for member, target, rel_file, f in fns:
        if not f.is_test:
            continue
        reason = how.get(key(member, f))
        if reason is None:
            others += 1
            continue
        test_id = f"test:{target}:{f.path}" if target else f"lib:{f.path}"
        test_id = f"{member}/{test_id}" if member else test_id  # another member's test
        tests.append(TestCase(id=test_id, file=rel_file, found_by=reason, code=f.code))
    if has_doctest and own is not None:
        rel = relative(path, root)
        tests.insert(
            0, TestCase(id=f"doc:{own.path}", file=rel, found_by="its doc comment's example")
        )
    return ProjectSpec(
        kind="cargo",
        root=str(root.resolve()),
        file=relative(path, root),
        tests=tuple(tests),
        others=others,
        workdir=relative(crate, root) or ".",
        benchmarks=tuple(
            _benchmarks(_bench_crates(crate, dependents), root, helpers, function, is_method)
        ),
        options={"crate": name},
    )


def _read(file: Path) -> str | None:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
