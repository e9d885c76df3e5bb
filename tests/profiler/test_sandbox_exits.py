"""A candidate that ends the test program early with exit code 0 (``exit(0)``,
``std::process::exit(0)``, ``os.Exit(0)``, ``System.exit(0)``, ``os._exit(0)``) is not a pass:
each language's launcher must see its tests finish. Found by `perforch bench adversarial`: in
C++, Rust, Go and Java the exit code alone decided, and such a candidate counted as passing."""

from __future__ import annotations

from pathlib import Path

import pytest

from perforch_core import source
from profiler.client import ProfilerClient
from server.cli import attack_files, attacks

EXITS = [a for a in attacks.ATTACKS if a.expect == "not_passed"]


@pytest.fixture
async def client():
    c = ProfilerClient(test_timeout_s=60)
    await c.start()
    yield c
    await c.aclose()


@pytest.mark.parametrize("attack", EXITS, ids=lambda a: a.language.value)
async def test_an_exit_inside_the_tests_is_not_a_pass(
    client: ProfilerClient, tmp_path: Path, attack: attacks.Attack
):
    exits = attack_files.write_task(attack, tmp_path / "exits", {})
    outcome = await client.run_tests(exits, exits.current_code or "")
    assert not outcome.passed, outcome
    # The same file whose function returns normally passes: the launcher is not in the way.
    fine = attack_files.write_task(attack_files.benign(attack.language), tmp_path / "fine", {})
    assert (await client.run_tests(fine, fine.current_code or "")).passed


@pytest.mark.parametrize("signature", ["int argc, char** argv", "int argc, const char *argv[]"])
async def test_an_exit_is_not_a_pass_when_the_tests_main_takes_arguments(
    client: ProfilerClient, tmp_path: Path, signature: str
):
    """A C++ test file whose ``main`` takes ``argc, argv`` (as a test framework's does): the
    launcher still calls it, so the tests must finish, not just exit 0."""
    exit_attack = next(a for a in EXITS if a.language.value == "cpp")
    for name, attack, passes in (
        ("exits", exit_attack, False),
        ("fine", attack_files.benign(exit_attack.language), True),
    ):
        written, path, function = attack_files.files(attack, {})
        test = written["attack_test.cpp"]
        assert "int main() {" in test
        written["attack_test.cpp"] = test.replace(
            "int main() {", f"int main({signature}) {{\n    (void)argc; (void)argv;"
        )
        (tmp_path / name).mkdir()
        for file, text in written.items():
            (tmp_path / name / file).write_text(text)
        task = source.task_from_file(tmp_path / name / path, function)
        outcome = await client.run_tests(task, task.current_code or "")
        assert outcome.passed is passes, (name, outcome)
