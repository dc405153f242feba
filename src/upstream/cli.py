"""The ``upstream`` command: ``upstream run`` runs a study, ``upstream simulate`` writes a
synthetic data set. Exit codes: 0 success, 1 a notebook failed, 2 bad input."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Set before anything can import great_expectations (directly or through upstream.data).
os.environ["GX_ANALYTICS_ENABLED"] = "False"

import upstream  # noqa: E402

RUN_EPILOG = """\
Relative paths in the study file are relative to the study file. The run is assembled in
reports/<study>/.staging-<timestamp>/ and published as reports/<study>/<timestamp>/ with
reports/<study>/latest pointing at it; a failed run is kept in reports/<study>/_failed/.
Exit codes: 0 published, 1 a notebook failed, 2 bad study, arguments or data.
The last line printed on stdout is the path of the report's index.html.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage dump) and exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="upstream",
        description="Upstream: separate the agent from the system in support satisfaction data.",
    )
    parser.add_argument("--version", action="version", version=f"upstream {upstream.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{run,simulate}", parser_class=_Parser)

    run = commands.add_parser(
        "run",
        help="run a study and publish its HTML report",
        description="Validate the data, execute the study's notebooks and publish the HTML report.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "study",
        nargs="?",
        metavar="STUDY.yaml",
        help="study file (default: studies/agent_vs_system.yaml in the project)",
    )
    run.add_argument("--data", metavar="DIR", help="data folder; replaces 'data' in the study file")
    run.add_argument("--reports", metavar="DIR", help="reports folder (default: reports/ in the project)")
    run.add_argument("--kernel", metavar="NAME", default="upstream", help="Jupyter kernel (default: upstream)")
    run.add_argument(
        "-p",
        "--parameter",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="parameters",
        help="set a notebook parameter (value read as YAML: 0.8, true, text); repeatable",
    )
    run.add_argument(
        "--name-agents",
        action="store_true",
        help="show agent ids instead of pseudonyms (sets show_names=True)",
    )

    simulate = commands.add_parser(
        "simulate",
        help="write a synthetic support data set",
        description="Write a simulated data set (contacts, surveys, agents and truth.json) to a folder.",
    )
    simulate.add_argument("--preset", default="sample", help="simulation preset (default: sample)")
    simulate.add_argument("--out", metavar="DIR", required=True, help="output folder")
    simulate.add_argument("--seed", type=int, default=None, help="random seed (default: the preset's)")
    return parser


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"upstream: error: {message}\n")
    return code


def _cmd_run(args: argparse.Namespace) -> int:
    from upstream import runner

    try:
        overrides = dict(runner.parse_parameter(text) for text in args.parameters)
        study_path = Path(args.study) if args.study else runner.default_study_path()
        study = runner.load_study(study_path, data_dir=args.data, overrides=overrides)
        runner.check_kernel(args.kernel)
    except runner.StudyError as err:
        return _fail(str(err))
    try:
        result = runner.run_study(
            study,
            reports_dir=args.reports,
            kernel=args.kernel,
            name_agents=args.name_agents,
        )
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted. Nothing was published.\n")
        return 130
    if result.index_path is not None:
        sys.stdout.write(f"{result.index_path}\n")
        sys.stdout.flush()
    return result.exit_code


def _cmd_simulate(args: argparse.Namespace) -> int:
    try:
        from upstream.simulate import simulate_to_folder
    except ImportError as err:
        return _fail(f"the simulator is not available ({err})", 1)
    try:
        out = simulate_to_folder(Path(args.out), preset=args.preset, seed=args.seed)
    except (ValueError, FileExistsError) as err:  # unknown preset, refused overwrite
        return _fail(str(err))
    sys.stdout.write(f"{Path(out).absolute()}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``upstream`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "simulate":
        return _cmd_simulate(args)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
