"""The ``perforch`` command line: argument parsing and error reporting, nothing else.

Exit codes: 0 success; 1 the job ran but did not succeed (no passing fix, …); 2 bad input or
configuration (a clear one-line error); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from perforch_core.errors import PerfOrchError
from perforch_core.memory.store import default_path
from perforch_core.models import Action

EXIT_FAILED = 1
EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    from . import bench, eval_cmd, jobs, models_cmd, study_cmd, tests_cmd

    parser = argparse.ArgumentParser(
        prog="perforch",
        description="Generate, fix and optimize functions with several measured LLMs.",
    )
    parser.add_argument(
        "--memory", type=Path, default=None, help=f"Memory database (default {default_path()})"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for action, text in (
        (Action.GENERATE, "write a function's body from its docstring"),
        (Action.FIX, "repair a function that fails its tests"),
        (Action.OPTIMIZE, "make a function measurably faster or leaner"),
    ):
        jobs.add_arguments(sub.add_parser(action.value, help=text), action)
    tests_cmd.add_arguments(
        sub.add_parser("tests", help="the tests that judge a function (--run: run them)")
    )
    models_cmd.add_arguments(sub.add_parser("models", help="Memory ranking, local models"))
    study_cmd.add_arguments(
        sub.add_parser("study", help="profile models on a benchmark into Memory (resumable)")
    )
    eval_cmd.add_arguments(
        sub.add_parser("eval", help="the paper's tables for the pool (Markdown, CSV, JSON, PNG)")
    )
    prof = sub.add_parser("profiler", help="run the profiler daemon (JSON-RPC on stdio)")
    prof.add_argument("--socket", help="serve on a Unix socket instead")
    bench.add_arguments(sub.add_parser("bench", help="benchmarks that write reports"))
    lsp = sub.add_parser("lsp", help="run the language server (stdio)")
    lsp.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT instead")
    lsp.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level (default WARNING, or env PERFORCH_LOG_LEVEL; DEBUG: every message)",
    )
    return parser


async def _dispatch(args: argparse.Namespace) -> int:
    from . import bench, eval_cmd, jobs, models_cmd, study_cmd, tests_cmd

    memory = args.memory or default_path()
    if args.command in ("generate", "fix", "optimize"):
        return await jobs.run_job(args, Action(args.command), memory)
    if args.command == "tests":
        return await tests_cmd.run(args)
    if args.command == "models":
        return await models_cmd.run(args, memory)
    if args.command == "study":
        return await study_cmd.run(args, memory)
    if args.command == "eval":
        return await eval_cmd.run(args, memory)
    if args.command == "bench":
        return await bench.run(args)
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(name)s %(levelname)s %(message)s",
    )
    if not args.verbose:
        logging.getLogger("LiteLLM").setLevel(logging.ERROR)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.command == "lsp":
        from server.lsp.server import main as lsp_main

        lsp_argv = ["--tcp", str(args.tcp)] if args.tcp else []
        lsp_main(lsp_argv + (["--log-level", args.log_level] if args.log_level else []))
        return
    if args.command == "profiler":
        from profiler.daemon import main as daemon_main

        daemon_main(["--socket", args.socket] if args.socket else [])
        return
    try:
        code = asyncio.run(_dispatch(args))
    except PerfOrchError as exc:
        print(f"perforch: error: {exc}", file=sys.stderr)
        code = EXIT_ERROR
    except KeyboardInterrupt:
        print("perforch: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
