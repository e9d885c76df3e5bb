"""Generated inputs for a Rust function: its signature read from the source, and the code that
calls it on them (``workload_io.rs`` reads and writes the values).

Each parameter is read into an owned value and passed as the signature asks: ``&[T]`` from a
``Vec<T>``, ``&str`` from a ``String``, ``&T`` / ``&mut T`` by reference (a call that may change
its arguments gets a copy of them), and an owned ``T`` as a clone per call (what the call
consumes). Generic functions, ``impl Trait`` and methods are not supported: the build says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from perforch_core.errors import HarnessError

from ...harness.compiled import INPUTS


@dataclass(frozen=True)
class Param:
    owned: str  # the type read from the inputs
    passed: str  # how the call passes it, with {} for the value
    mutable: bool  # a &mut parameter: the call may change it


def _closing(text: str, start: int, pairs: str = "()") -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == pairs[0]:
            depth += 1
        elif text[i] == pairs[1]:
            depth -= 1
            if depth == 0:
                return i
    raise HarnessError("unbalanced parentheses in the function's signature")


def _split(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside <>, (), []."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<([":
            depth += 1
        elif ch in ">)]" and not (ch == ">" and i > 0 and text[i - 1] == "-"):
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def signature(source: str, entry: str) -> tuple[list[Param], str]:
    """The parameters of ``fn entry`` in ``source`` and its return type (``()`` if none)."""
    m = re.search(rf"\bfn\s+{re.escape(entry)}\s*([<(])", source)
    if m is None:
        raise HarnessError(f"no fn {entry} in the Rust source")
    if m.group(1) == "<":
        raise HarnessError(f"fn {entry} is generic: generated inputs need concrete types")
    close = _closing(source, m.end() - 1)
    params = []
    for item in _split(source[m.end() : close], ","):
        if ":" not in item or item.startswith(("self", "&self", "&mut self", "mut self")):
            raise HarnessError(f"fn {entry} is a method: generated inputs need a free function")
        params.append(_param(item.split(":", 1)[1].strip(), entry))
    rest = source[close + 1 :]
    end = min(i for i in (rest.find("{"), rest.find(" where "), len(rest)) if i >= 0)
    ret = rest[:end].strip()
    ret = ret[2:].strip() if ret.startswith("->") else "()"
    if "impl " in ret:
        raise HarnessError(f"fn {entry} returns impl Trait: its results cannot be compared")
    return params, re.sub(r"'\w+\s*", "", ret)


def _param(ty: str, entry: str) -> Param:
    if ty.startswith(("impl ", "dyn ")) or "impl " in ty:
        raise HarnessError(f"fn {entry} takes {ty}: generated inputs need concrete types")
    m = re.fullmatch(r"&\s*(?:'\w+\s+)?(mut\s+)?(.+)", ty, re.S)
    if m is None:
        return Param(ty, "{}.clone()", False)
    mutable, inner = bool(m.group(1)), m.group(2).strip()
    if inner.startswith("[") and inner.endswith("]") and ";" not in inner:
        owned = f"Vec<{inner[1:-1].strip()}>"
    elif inner == "str":
        owned = "String"
    else:
        owned = inner
    return Param(owned, "&mut {}" if mutable else "&{}", mutable)


def make_public(module: str, entry: str) -> str:
    """The module with ``fn entry`` public (the measuring code outside the module calls it)."""
    pattern = re.compile(
        rf"(?m)^(\s*)(?:pub(?:\([^)]*\))?\s+)?((?:const\s+|async\s+|unsafe\s+)*)fn\s+"
        rf"{re.escape(entry)}\b"
    )
    return pattern.sub(lambda m: f"{m.group(1)}pub {m.group(2)}fn {entry}", module, count=1)


def sides(source: str, entry: str, side_a: str = "perforch_a", side_b: str = "perforch_b") -> str:
    """The driver's sides for a generated workload (``driver.rs`` and ``workload_io.rs``): the
    function of the modules at the paths ``side_a`` and ``side_b``."""
    params, ret = signature(source, entry)
    if not 1 <= len(params) <= 6:
        raise HarnessError(f"fn {entry} takes {len(params)} parameters: 1 to 6 are supported")
    args = "(" + "".join(f"{p.owned}, " for p in params) + ")"
    passed = ", ".join(p.passed.format(f"a.{i}") for i, p in enumerate(params))
    mutates = "true" if any(p.mutable for p in params) else "false"
    return f"""
#[allow(unused_imports)]
use std::collections::{{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque}};
type PerforchArgs = {args};
fn perforch_call_a(a: &mut PerforchArgs) -> {ret} {{ {side_a}::{entry}({passed}) }}
fn perforch_call_b(a: &mut PerforchArgs) -> {ret} {{ {side_b}::{entry}({passed}) }}
const PERFORCH_ARITY: usize = {len(params)};
const PERFORCH_MUTATES: bool = {mutates};
thread_local! {{
    static PERFORCH_INPUTS: std::cell::RefCell<Vec<PerforchArgs>> =
        std::cell::RefCell::new(Vec::new());
}}
fn perforch_call(which: usize) -> fn(&mut PerforchArgs) -> {ret} {{
    std::hint::black_box(if which == 0 {{ perforch_call_a }} else {{ perforch_call_b }})
}}
fn perforch_prepare() {{
    let data = std::fs::read("{INPUTS}").expect("no generated inputs");
    let mut c = perforch_io::Cursor {{ data: &data, at: 0 }};
    match <Vec<PerforchArgs> as perforch_io::PerforchRead>::read(&mut c) {{
        Ok(all) => PERFORCH_INPUTS.with(|cell| *cell.borrow_mut() = all),
        Err(e) => panic!("{{}}", e.0),
    }}
}}
fn perforch_side(which: usize) {{
    if which > 1 {{
        return;
    }}
    let call = perforch_call(which);
    PERFORCH_INPUTS.with(|cell| {{
        for a in cell.borrow_mut().iter_mut() {{
            if PERFORCH_MUTATES {{
                let mut own = a.clone();
                std::hint::black_box(call(&mut own));
            }} else {{
                std::hint::black_box(call(a));
            }}
        }}
    }});
}}
fn perforch_serve(which: usize, payload: &[u8]) -> Option<String> {{
    if which > 1 {{
        return None;
    }}
    let call = perforch_call(which);
    let mut c = perforch_io::Cursor {{ data: payload, at: 0 }};
    let mut args = match <PerforchArgs as perforch_io::PerforchRead>::read(&mut c) {{
        Ok(a) => a,
        Err(e) => return Some(perforch_io::input_error(e)),
    }};
    let before = perforch_io::json(&args);
    let base = PERFORCH_LIVE.load(Relaxed);
    PERFORCH_PEAK.store(base, Relaxed);
    let c0 = perforch_clock(PERFORCH_PROCESS_CPU);
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {{
        let r = call(&mut args);
        let c1 = perforch_clock(PERFORCH_PROCESS_CPU);
        (perforch_io::json(&r), c1)
    }}));
    let (returned, raised, c1) = match got {{
        Ok((r, c1)) => (r, "null".to_string(), c1),
        Err(_) => {{
            let c1 = perforch_clock(PERFORCH_PROCESS_CPU);
            ("null".to_string(), perforch_io::json("panic"), c1)
        }}
    }};
    let peak = PERFORCH_PEAK.load(Relaxed).saturating_sub(base);
    let after = perforch_io::json(&args);
    Some(format!(
        "{{{{\\"returned\\": {{}}, \\"raised\\": {{}}, \\"args_after\\": {{}}, \\
         \\"changed\\": {{}}, \\"ns\\": {{:.0}}, \\"peak\\": {{}}}}}}",
        returned, raised, after, after != before, c1 - c0, peak
    ))
}}
"""


TEST_SIDES = """
const PERFORCH_ARITY: usize = 0;
const PERFORCH_MUTATES: bool = false;
fn perforch_prepare() {}
fn perforch_serve(_which: usize, _payload: &[u8]) -> Option<String> {
    None
}
"""
