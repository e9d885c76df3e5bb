"""An attack (``server.cli.attacks``) as a user's files: the candidate function's file and its
test beside it, in each language's layout, written out as the task PerfOrch gets; and the
harmless candidate run between attacks."""

from __future__ import annotations

from pathlib import Path

from perforch_core import source
from perforch_core.models import Language, Task

from .attacks import Attack


def files(attack: Attack, fill: dict[str, str]) -> tuple[dict[str, str], str, str]:
    """The attack as a user's lone file and its test: (files, the function's file, its name)."""

    def f(text: str) -> str:
        for key, value in fill.items():
            text = text.replace(f"@{key}@", value)
        return text

    if attack.language is Language.PYTHON:
        body = "".join(f"    {line}\n" for line in f(attack.body).splitlines())
        return (
            {
                "attack.py": f"def attack():\n{body}",
                "test_attack.py": "from attack import attack\n\n\ndef test_attack():\n"
                "    assert attack() == 'blocked'\n",
            },
            "attack.py",
            "attack",
        )
    if attack.language is Language.CPP:
        return (
            {
                "attack.cpp": f"{attack.imports}\n{f(attack.body)}\n",
                "attack_test.cpp": '#include <cstdio>\n#include "attack.cpp"\n\nint main() {\n'
                '    std::string r = attack();\n    if (r != "blocked") {\n'
                '        std::fprintf(stderr, "%s\\n", r.c_str());\n        return 1;\n    }\n'
                "    return 0;\n}\n",
            },
            "attack.cpp",
            "attack",
        )
    if attack.language is Language.RUST:
        return (
            {
                "attack.rs": f"{attack.imports}{f(attack.body)}\n\n#[cfg(test)]\nmod tests {{\n"
                "    #[test]\n    fn contained() {\n"
                '        assert_eq!(super::attack(), "blocked");\n    }\n}\n'
            },
            "attack.rs",
            "attack",
        )
    if attack.language is Language.GO:
        return (
            {
                "attack.go": f"package attack\n\n{attack.imports}\n{f(attack.body)}\n",
                "attack_test.go": 'package attack\n\nimport "testing"\n\n'
                "func TestAttack(t *testing.T) {\n"
                '\tif r := Attack(); r != "blocked" {\n\t\tt.Fatal(r)\n\t}\n}\n',
            },
            "attack.go",
            "Attack",
        )
    return (
        {
            "Attack.java": f"public class Attack {{\n{f(attack.body)}\n}}\n",
            "AttackTest.java": "public class AttackTest {\n"
            "    public static void main(String[] args) {\n"
            "        String r = Attack.attack();\n"
            '        if (!r.equals("blocked")) throw new AssertionError(r);\n    }\n}\n',
        },
        "Attack.java",
        "attack",
    )


BENIGN_BODY = {
    Language.PYTHON: "return 'blocked'",
    Language.CPP: 'std::string attack() {\n    return "blocked";\n}',
    Language.RUST: 'pub fn attack() -> String {\n    "blocked".to_string()\n}',
    Language.GO: 'func Attack() string {\n\treturn "blocked"\n}',
    Language.JAVA: '    public static String attack() {\n        return "blocked";\n    }',
}


def benign(language: Language) -> Attack:
    """A harmless candidate: run first in each language (its services start, e.g. the javac
    service, and count as the host's), and after each attack (the daemon still serves)."""
    imports = "#include <string>\n" if language is Language.CPP else ""
    return Attack("benign", language, "", BENIGN_BODY[language], imports=imports)


def write_task(attack: Attack, where: Path, fill: dict[str, str]) -> Task:
    """The attack's files written into the new directory ``where``, as the task a user's
    lone file and its test make."""
    written, path, function = files(attack, fill)
    where.mkdir(parents=True)
    for name, text in written.items():
        (where / name).write_text(text)
    return source.task_from_file(where / path, function)
