"""What a Gradle build declares it depends on, as Maven coordinates. The build file
(``build.gradle`` or ``build.gradle.kts``) is read, never run: string and map notations,
``platform(...)`` BOMs, the version catalog (``gradle/libs.versions.toml``: ``libs.x.y``) and
``$name`` versions from ``gradle.properties`` or the build file. The coordinates become a small
pom that Maven resolves offline from ~/.m2, transitively; when Maven cannot, the declared jars
are looked up in Gradle's own module cache (~/.gradle)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

CONFIGURATIONS = (
    "implementation|api|compileOnly|runtimeOnly|compileOnlyApi|testImplementation|"
    "testCompileOnly|testRuntimeOnly|compile|testCompile|runtime|testRuntime"
)
_DECLARATION = re.compile(rf"^\s*({CONFIGURATIONS})\b\s*\(?\s*(.*)$", re.M)
_QUOTED = re.compile(r"""^(platform|enforcedPlatform)?\s*\(?\s*["']([^"']+)["']""")
_CATALOG = re.compile(r"^(platform|enforcedPlatform)?\s*\(?\s*libs\.([\w.]+)")
_MAP = re.compile(r"""\b(group|name|version)\s*[:=]\s*(?:["']([^"']+)["']|(\w+))""")
# Left out: the JUnit console launcher brings JUnit, its engine and their own dependencies.
JUNIT = re.compile(r"^(org\.junit(\.\w+)*|org\.opentest4j|org\.apiguardian)$")


@dataclass(frozen=True)
class Coordinate:
    group: str
    artifact: str
    version: str | None
    test: bool = False


@dataclass
class Declared:
    dependencies: list[Coordinate] = field(default_factory=list)
    platforms: list[Coordinate] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # declarations not understood


def build_file(root: Path) -> Path | None:
    return next(
        (root / n for n in ("build.gradle.kts", "build.gradle") if (root / n).is_file()), None
    )


def build_root(root: Path) -> Path:
    """The build's root (where ``settings.gradle[.kts]`` is): a subproject's catalog and
    properties live there."""
    for directory in (root, *root.parents):
        if any((directory / n).is_file() for n in ("settings.gradle.kts", "settings.gradle")):
            return directory
    return root


def _properties(root: Path, text: str) -> dict[str, str]:
    """``name = value`` from gradle.properties and simple assignments in the build file."""
    found: dict[str, str] = {}
    props = build_root(root) / "gradle.properties"
    if props.is_file():
        for line in props.read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.strip().startswith("#"):
                found[key.strip()] = value.strip()
    for m in re.finditer(r"""(?:val|def|var|ext\.)?\s*(\w+)\s*=\s*["']([^"'$]+)["']""", text):
        found.setdefault(m.group(1), m.group(2))
    return found


def _catalog(root: Path) -> dict[str, str]:
    """The version catalog's libraries: accessor (``commons.lang3``) → ``group:artifact[:v]``."""
    path = build_root(root) / "gradle" / "libs.versions.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    versions = {k: v for k, v in data.get("versions", {}).items() if isinstance(v, str)}
    out: dict[str, str] = {}
    for alias, lib in data.get("libraries", {}).items():
        accessor = re.sub(r"[-_]", ".", alias)
        if isinstance(lib, str):
            out[accessor] = lib
            continue
        if not isinstance(lib, dict):
            continue
        module = lib.get("module") or f"{lib.get('group', '')}:{lib.get('name', '')}"
        version = lib.get("version")
        if isinstance(version, dict):
            version = (
                versions.get(str(version.get("ref", "")))
                or version.get("strictly")
                or (version.get("require") or version.get("prefer"))
            )
        out[accessor] = f"{module}:{version}" if isinstance(version, str) else str(module)
    return out


def _coordinate(notation: str, props: dict[str, str], test: bool) -> Coordinate | None:
    def expand(value: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: props.get(m.group(1), m.group(0)), value)

    parts = expand(notation).split(":")
    if len(parts) < 2 or not all(parts[:2]):
        return None
    version = parts[2] if len(parts) > 2 and parts[2] and "$" not in parts[2] else None
    return Coordinate(parts[0], parts[1], version, test)


def declared(root: Path) -> Declared:
    """The build file's external dependencies (project and file dependencies are not)."""
    out = Declared()
    path = build_file(root)
    if path is None:
        return out
    text = path.read_text(encoding="utf-8", errors="replace")
    props, catalog = _properties(root, text), _catalog(root)
    for m in _DECLARATION.finditer(text):
        configuration, rest = m.group(1), m.group(2).strip()
        test = configuration.startswith("test")
        if rest.startswith(("project(", "project (", "files(", "fileTree(", "gradleApi(")):
            continue
        quoted, from_catalog = _QUOTED.match(rest), _CATALOG.match(rest)
        mapped = {k: v or props.get(name, f"${name}") for k, v, name in _MAP.findall(rest)}
        if quoted:
            platform, notation = quoted.group(1), quoted.group(2)
        elif from_catalog and from_catalog.group(2) in catalog:
            platform, notation = from_catalog.group(1), catalog[from_catalog.group(2)]
        elif "group" in mapped and "name" in mapped:
            platform = None
            notation = f"{mapped['group']}:{mapped['name']}:{mapped.get('version', '')}"
        else:
            out.unread.append(f"{configuration} {rest}"[:120])
            continue
        coordinate = _coordinate(notation, props, test)
        if coordinate is None:
            out.unread.append(f"{configuration} {rest}"[:120])
        elif JUNIT.match(coordinate.group):
            continue
        elif platform:
            out.platforms.append(coordinate)
        else:
            out.dependencies.append(coordinate)
    if not out.platforms:  # nothing gives a version to those without one
        out.unread += [
            f"{c.group}:{c.artifact} (no version)" for c in out.dependencies if not c.version
        ]
        out.dependencies = [c for c in out.dependencies if c.version]
    return out


def pom(deps: Declared) -> str:
    """A pom declaring the same dependencies, for ``mvn dependency:build-classpath``."""

    def coordinates(c: Coordinate) -> str:
        version = f"<version>{escape(c.version)}</version>" if c.version else ""
        return (
            f"<groupId>{escape(c.group)}</groupId><artifactId>{escape(c.artifact)}</artifactId>"
            + version
        )

    managed = "".join(
        f"<dependency>{coordinates(p)}<type>pom</type><scope>import</scope></dependency>"
        for p in deps.platforms
        if p.version
    )
    listed = "".join(
        f"<dependency>{coordinates(d)}<scope>{'test' if d.test else 'compile'}</scope></dependency>"
        for d in deps.dependencies
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>perforch.gradle</groupId><artifactId>classpath</artifactId>"
        "<version>0</version><packaging>pom</packaging>"
        + (
            f"<dependencyManagement><dependencies>{managed}</dependencies></dependencyManagement>"
            if managed
            else ""
        )
        + f"<dependencies>{listed}</dependencies></project>\n"
    )


def gradle_cache_jars(deps: Declared) -> tuple[list[str], list[Coordinate]]:
    """The declared jars in Gradle's module cache (not their own dependencies): (found, missing)."""
    home = Path(os.environ.get("GRADLE_USER_HOME", Path.home() / ".gradle"))
    base = home / "caches" / "modules-2" / "files-2.1"
    found: list[str] = []
    missing: list[Coordinate] = []
    for c in deps.dependencies:
        versions = [c.version] if c.version else []
        jars = [
            j
            for v in versions
            for j in sorted((base / c.group / c.artifact / v).glob(f"*/{c.artifact}-{v}.jar"))
        ]
        if jars:
            found.append(str(jars[0]))
        else:
            missing.append(c)
    return found, missing
