"""A generated workload saved as a Go benchmark the user keeps (``perforch optimize
--save-workload lcs_perforch_test.go``): a ``Benchmark…`` function in the function's own package,
one sub-benchmark per seed, reading the inputs PerfOrch measured on from
``testdata/perforch_<function>.json`` with ``encoding/json`` (the standard library: nothing to
add to go.mod). ``go test -bench`` then runs it like the package's other benchmarks.

The parameters are read by their declared types, so only types ``encoding/json`` fills from the
generator's values are accepted: integer, float, bool and string types, and slices, arrays,
maps and pointers of them. A struct, a rune or byte (the generator gives a one-character
string), an interface or a channel is refused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import ConfigError
from ...models import Task, Workload

SCALARS = frozenset(
    {
        *("int", "int8", "int16", "int32", "int64", "uint", "uint8", "byte", "uint16"),
        *("uint32", "uint64", "uintptr", "float32", "float64", "bool", "string"),
    }
)
_ARRAY = re.compile(r"^\[\d*\](.+)$")
_MAP = re.compile(r"^map\[([^\[\]]+)\](.+)$")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    variadic: bool = False


def decodable(go_type: str) -> str | None:
    """None when ``encoding/json`` fills ``go_type`` from the generator's values; else why not."""
    t = go_type.strip()
    if t in SCALARS:
        return None
    if t == "rune":
        return "rune (the generator gives a one-character string)"
    if t.startswith("*"):
        return decodable(t[1:])
    if m := _ARRAY.match(t):
        if t.startswith("[]") and m.group(1).strip() in ("byte", "uint8"):
            return f"{t} (JSON would need base64)"
        return decodable(m.group(1))
    if m := _MAP.match(t):
        key = m.group(1).strip()
        if key != "string" and key not in SCALARS - {"bool", "float32", "float64"}:
            return f"{t} (its keys)"
        return decodable(m.group(2))
    return t


def params(task: Task) -> list[Param]:
    """The function's parameters, one per name, from its declaration (tree-sitter)."""
    from . import SUPPORT

    source = f"package p\n\n{task.signature.strip()} {{\n}}\n"
    root = SUPPORT.parse(source).root_node
    decl = next((n for n in root.named_children if n.type == "function_declaration"), None)
    if decl is None or decl.child_by_field_name("parameters") is None:
        raise ConfigError(f"cannot read the parameters of {task.entry_point} from its signature")
    out: list[Param] = []
    plist = decl.child_by_field_name("parameters")
    assert plist is not None
    for i, node in enumerate(plist.named_children):
        kind = node.child_by_field_name("type")
        if kind is None or kind.text is None:
            continue
        names = [n.text.decode() for n in node.children_by_field_name("name") if n.text]
        variadic = node.type == "variadic_parameter_declaration"
        for name in names or [f"arg{i}"]:
            out.append(Param(name if name != "_" else f"arg{i}", kind.text.decode(), variadic))
    return out


def package_of(prefix: str) -> str:
    m = re.search(r"^package\s+(\w+)", prefix, re.M)
    if m is None:
        raise ConfigError("the function's file has no package clause")
    return m.group(1)


MANY = 3  # more seeds than this: fixed-size inputs, measured all at once (one benchmark)


def _render_many(task: Task, workload: Workload, ps: list[Param]) -> str:
    """One benchmark calling the function on every input in turn: a workload of thousands of
    fixed-size inputs (a date string), each call microseconds, where a sub-benchmark per seed
    would run for hours. A function that changes its arguments gets them decoded afresh
    before each pass, untimed."""
    fn = task.entry_point
    name = fn[:1].upper() + fn[1:]
    fields = "".join(f"\t\tv{i} {'[]' if p.variadic else ''}{p.type}\n" for i, p in enumerate(ps))
    decodes = "".join(
        f"\t\t\tif err := json.Unmarshal(c.Args[{i}], &calls[k].v{i}); err != nil {{\n"
        f'\t\t\t\tb.Fatalf("seed %d, argument {i + 1} ({p.name}): %v", c.Seed, err)\n'
        "\t\t\t}\n"
        for i, p in enumerate(ps)
    )
    args = ", ".join(f"c.v{i}{'...' if p.variadic else ''}" for i, p in enumerate(ps))
    fresh = "\t\tb.StopTimer()\n\t\tdecode()\n\t\tb.StartTimer()\n" if workload.mutates else ""
    return (
        f"package {package_of(task.prefix)}\n\n"
        'import (\n\t"encoding/json"\n\t"os"\n\t"testing"\n)\n\n'
        f"// Benchmark{name}PerforchGenerated runs {fn} on each of the {len(workload.seeds)} "
        "inputs PerfOrch\n"
        f"// measured it on ({workload.origin}; checked on the original), size "
        f"{workload.size}: inputs of\n// a fixed size, so one pass over all of them is one "
        "benchmark iteration. Saved by\n"
        f"// PerfOrch; the inputs are in {data_path(task)}.\n"
        f"func Benchmark{name}PerforchGenerated(b *testing.B) {{\n"
        f"{_read_cases(task)}"
        f"\ttype call struct {{\n{fields}\t}}\n"
        "\tcalls := make([]call, len(cases))\n"
        "\tdecode := func() {\n"
        "\t\tfor k, c := range cases {\n"
        f"\t\t\tif len(c.Args) != {len(ps)} {{\n"
        f'\t\t\t\tb.Fatalf("seed %d: %d arguments, {fn} takes {len(ps)}", c.Seed, len(c.Args))\n'
        "\t\t\t}\n"
        "\t\t\tcalls[k] = call{}  // from zero values: Unmarshal into a map keeps what is there\n"
        f"{decodes}"
        "\t\t}\n\t}\n"
        "\tdecode()\n\tb.ResetTimer()\n"
        "\tfor i := 0; i < b.N; i++ {\n"
        f"{fresh}"
        f"\t\tfor _, c := range calls {{\n\t\t\t{fn}({args})\n\t\t}}\n"
        "\t}\n}\n"
    )


def _read_cases(task: Task) -> str:
    """The benchmark's first lines: the inputs file read into ``cases`` (seed, raw args)."""
    return (
        f'\tdata, err := os.ReadFile("{data_path(task)}")\n'
        "\tif err != nil {\n\t\tb.Fatal(err)\n\t}\n"
        "\tvar cases []struct {\n"
        '\t\tSeed int               `json:"seed"`\n'
        '\t\tArgs []json.RawMessage `json:"args"`\n'
        "\t}\n"
        "\tif err := json.Unmarshal(data, &cases); err != nil {\n\t\tb.Fatal(err)\n\t}\n"
    )


def data_path(task: Task) -> str:
    """Where the inputs go, relative to the benchmark file's directory."""
    return f"testdata/perforch_{task.entry_point}.json"


def render(task: Task, workload: Workload) -> str:
    """The benchmark file's text; ``ConfigError`` when a parameter's type cannot be read."""
    ps = params(task)
    refused = [f"{p.name} {why}" for p in ps if (why := decodable(p.type)) is not None]
    if refused:
        raise ConfigError(
            f"a Go benchmark cannot read {task.entry_point}'s arguments from JSON: "
            + ", ".join(refused),
            hint="give a .py FILE to keep the input generator instead",
        )
    fn = task.entry_point
    name = fn[:1].upper() + fn[1:]
    decls = "".join(
        f"\t\t\tvar v{i} {'[]' if p.variadic else ''}{p.type}\n" for i, p in enumerate(ps)
    )
    # Each decode starts from a zero value: Unmarshal into a map keeps what is there.
    decodes = "".join(
        f"\t\t\t\tv{i} = *new({'[]' if p.variadic else ''}{p.type})\n"
        f"\t\t\t\tif err := json.Unmarshal(args[{i}], &v{i}); err != nil {{\n"
        f'\t\t\t\t\tb.Fatalf("argument {i + 1} ({p.name}): %v", err)\n\t\t\t\t}}\n'
        for i, p in enumerate(ps)
    )
    call = (
        f"{fn}(" + ", ".join(f"v{i}{'...' if p.variadic else ''}" for i, p in enumerate(ps)) + ")"
    )
    if len(workload.seeds) > MANY:
        return _render_many(task, workload, ps)
    if workload.mutates:  # the function changes its arguments: fresh ones per call, untimed
        loop = (
            "\t\t\tfor i := 0; i < b.N; i++ {\n\t\t\t\tb.StopTimer()\n\t\t\t\tdecode()\n"
            f"\t\t\t\tb.StartTimer()\n\t\t\t\t{call}\n\t\t\t}}\n"
        )
    else:
        loop = (
            "\t\t\tdecode()\n\t\t\tb.ResetTimer()\n"
            f"\t\t\tfor i := 0; i < b.N; i++ {{\n\t\t\t\t{call}\n\t\t\t}}\n"
        )
    return (
        f"package {package_of(task.prefix)}\n\n"
        'import (\n\t"encoding/json"\n\t"os"\n\t"strconv"\n\t"testing"\n)\n\n'
        f"// Benchmark{name}PerforchGenerated runs {fn} on the inputs PerfOrch measured it on\n"
        f"// ({workload.origin}; checked on the original), size {workload.size}, one\n"
        f"// sub-benchmark per seed. Saved by PerfOrch; the inputs\n"
        f"// are in {data_path(task)}.\n"
        f"func Benchmark{name}PerforchGenerated(b *testing.B) {{\n"
        f"{_read_cases(task)}"
        "\tfor _, c := range cases {\n"
        "\t\targs := c.Args\n"
        '\t\tb.Run("seed="+strconv.Itoa(c.Seed), func(b *testing.B) {\n'
        f"\t\t\tif len(args) != {len(ps)} {{\n"
        f'\t\t\t\tb.Fatalf("%d arguments, {fn} takes {len(ps)}", len(args))\n\t\t\t}}\n'
        f"{decls}"
        f"\t\t\tdecode := func() {{\n{decodes}\t\t\t}}\n"
        f"{loop}"
        "\t\t})\n"
        "\t}\n"
        "}\n"
    )
