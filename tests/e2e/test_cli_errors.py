"""Bad input through the real CLI: one clear error, a non-zero exit, nothing lost."""

from __future__ import annotations

from pathlib import Path


def test_function_that_does_not_exist(perforch):
    r = perforch("optimize", "slow_functions.py::nope")
    assert r.returncode == 2
    assert "no top-level function 'nope'" in r.stderr
    assert "count_primes, has_duplicates" in r.stderr
    assert r.stderr.count("error:") == 1


def test_file_that_does_not_parse(perforch, workdir: Path):
    (workdir / "broken.py").write_text("def f(:\n    pass\n")
    r = perforch("fix", "broken.py::f")
    assert r.returncode == 2 and "does not parse" in r.stderr


def test_file_that_does_not_exist(perforch):
    r = perforch("fix", "missing.py::f")
    assert r.returncode == 2 and "no such file: missing.py" in r.stderr


def test_target_without_function(perforch):
    r = perforch("fix", "slow_functions.py")
    assert r.returncode == 2 and "must look like path/to/file.py::function" in r.stderr


def test_function_without_tests(perforch, workdir: Path):
    (workdir / "lonely.py").write_text("def lonely(x):\n    return x\n")
    r = perforch("optimize", "lonely.py::lonely")
    assert r.returncode == 2 and "no tests found for lonely()" in r.stderr
    assert "--tests FILE" in r.stderr


def test_model_litellm_does_not_know(perforch):
    r = perforch("optimize", "slow_functions.py::has_duplicates", "--models", "nosuchprovider")
    assert r.returncode == 2
    assert "litellm does not know the model 'nosuchprovider'" in r.stderr


def test_hosted_model_without_its_key(perforch):
    r = perforch(
        "optimize",
        "slow_functions.py::has_duplicates",
        "--models",
        "openai/gpt-4o",
        extra_env={"OPENAI_API_KEY": ""},
    )
    assert r.returncode == 2 and "OPENAI_API_KEY is not set" in r.stderr


def test_memory_file_that_is_not_a_database_is_left_untouched(perforch, workdir: Path):
    bad = workdir / "memory.sqlite"
    bad.write_text("this is my shopping list\n")
    r = perforch("--memory", str(bad), "optimize", "slow_functions.py::has_duplicates")
    assert r.returncode == 2 and "not a PerfOrch Memory database" in r.stderr
    assert bad.read_text() == "this is my shopping list\n"


def test_model_server_down_is_one_clear_failure(perforch, workdir: Path, unused_tcp_port: int):
    source = (workdir / "slow_functions.py").read_text()
    r = perforch(
        "optimize",
        "slow_functions.py::has_duplicates",
        "--models",
        "local/qwen2.5-coder-0.5b",
        extra_env={"PERFORCH_LOCAL_API_BASE": f"http://127.0.0.1:{unused_tcp_port}/v1"},
    )
    assert r.returncode == 1
    assert "every model call failed" in r.output and "unreachable" in r.output
    assert (workdir / "slow_functions.py").read_text() == source


def test_corrupted_model_settings_file(perforch, tmp_path: Path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "models.toml").write_text("[models\n")
    r = perforch("models")
    assert r.returncode == 2 and "models.toml is not valid TOML" in r.stderr
