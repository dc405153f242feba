"""The ``upstream`` command: ``upstream run`` runs a study, ``upstream studies`` lists them,
``upstream simulate`` writes a synthetic data set (or a vendor-shaped export of one), ``upstream import``
turns a helpdesk export into a data set. Exit codes: 0 success, 1 a notebook failed (or an unexpected
error), 2 bad input."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Set before anything can import great_expectations (directly or through upstream.data).
os.environ["GX_ANALYTICS_ENABLED"] = "False"
# jsonschema (imported by nbformat, papermill and GX) imports every optional format checker at once, and
# rfc3987_syntax (installed for jupyter-events' `jsonschema[format-nongpl]`) compiles ~35 Earley grammars
# when imported: 1.5-2.5 s of every command, for the `iri` formats that no schema this command validates
# uses (nbformat's notebook schema, GX's; python-jsonschema/jsonschema#1428). This process does without
# it: jsonschema then leaves `iri` unchecked, as when the package is not installed. JupyterLab is unaffected.
sys.modules.setdefault("rfc3987_syntax", None)

import upstream  # noqa: E402
from upstream.data.importers import VENDORS as IMPORT_VENDORS  # noqa: E402
from upstream.runner.spec import ENGINES, SPARK_INSTALL  # noqa: E402
from upstream.simulate.exports import VENDORS as EXPORT_VENDORS  # noqa: E402
from upstream.simulate.operation import PRESETS  # noqa: E402

RUN_EPILOG = """\
STUDY is a study's name (agent_vs_system, quarterly_review, ...: `upstream studies` lists them with
their parameters) or the path of a study file; names and the project's studies/*.yaml work from any
folder. Relative paths in the study file are relative to the study file. Every -p value is checked
against what the study's parameter allows before any notebook starts. The run is assembled in
reports/<study>/.staging-<timestamp>/ and published as reports/<study>/<timestamp>/ with
reports/<study>/latest pointing at it; a failed run is kept in reports/<study>/_failed/ (the newest
$UPSTREAM_KEEP_FAILED failed runs, default 10; older ones are deleted).
Exit codes: 0 published, 1 a notebook failed, 2 bad study, arguments or data.
The last line printed on stdout is the path of the report's index.html.
"""


IMPORT_EPILOG = """\
Exports: zendesk (a folder: tickets.json, ticket_metrics.json, satisfaction_ratings.json, optional
users.json, groups.json, ticket_fields.json; or the Admin Center CSV file), freshdesk (a folder:
tickets.json, satisfaction_ratings.json, optional surveys.json, time_entries.json, agents.json,
groups.json; or the UI CSV file), intercom (conversations.json, optional admins.json, teams.json),
helpscout (conversations.json, ratings.json, optional users.json), gorgias (tickets.json,
satisfaction_surveys.json, optional messages.json, users.json), csv (one table with a mapping).
Policy, product and issue type come from the account's own tags and custom fields: without a
--mapping that names them (docs/importers/README.md, "The mapping"), a column the export does not
hold is 'unknown' for every contact, the import says so on stderr and the studies can estimate no
policy or product effects; --require-mapping makes that an error (exit 2, nothing written).
The data set is written to a temporary folder beside --out and moved into place only when
complete; nothing is written when the export is bad. Exit codes: 0 written, 2 bad export or
mapping, 1 unexpected error. The last line printed on stdout is the data set's folder.
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
    commands = parser.add_subparsers(dest="command", metavar="{run,studies,simulate,import}", parser_class=_Parser)
    _add_run_command(commands)
    commands.add_parser(
        "studies",
        help="list the studies with their questions and parameters",
        description="List the project's studies (studies/*.yaml): the question each answers and the parameters "
                    "-p can set, with their defaults and allowed values.",
    )
    _add_simulate_command(commands)
    _add_import_command(commands)
    return parser


def _add_run_command(commands) -> None:
    """``upstream run``: a study, its data, reports folder, kernel, engine, parameters and jobs."""
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
        metavar="STUDY",
        help="a study name (see `upstream studies`) or a study file (default: agent_vs_system)",
    )
    run.add_argument("--list", action="store_true", help="list the studies with their questions and parameters")
    run.add_argument("--data", metavar="DIR", help="data folder; replaces 'data' in the study file")
    run.add_argument("--reports", metavar="DIR", help="reports folder (default: reports/ in the project)")
    run.add_argument("--kernel", metavar="NAME", default="upstream", help="Jupyter kernel (default: upstream)")
    run.add_argument("--engine", choices=ENGINES, default=None, metavar="{" + ",".join(ENGINES) + "}",
                     help="where the data are read and aggregated (default: the study file's 'engine', else auto: "
                          "pandas for small data, duckdb from 256 MiB of table files on); spark: a local-mode "
                          "session, or the cluster of UPSTREAM_SPARK_MASTER (docs/spark.md; needs "
                          f"`{SPARK_INSTALL}`)")
    run.add_argument(
        "-p",
        "--parameter",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="parameters",
        help="set a study parameter (value read as YAML: 0.8, true, text); repeatable; "
             "`upstream studies` lists each study's parameters, defaults and allowed values",
    )
    run.add_argument("--jobs", type=int, metavar="N", default=None,
                     help="notebooks run side by side after the first, which fits the shared models "
                          "(default: $UPSTREAM_JOBS, else 2 on a machine with two cores or more)")
    run.add_argument(
        "--name-agents",
        action="store_true",
        help="show agent ids instead of pseudonyms (sets show_names=True)",
    )


def _add_simulate_command(commands) -> None:
    """``upstream simulate``: a preset, an output folder, a seed, and optionally a vendor's export."""
    simulate = commands.add_parser(
        "simulate",
        help="write a synthetic support data set",
        description="Write a simulated data set (contacts, surveys, agents and truth.json) to a folder.",
    )
    simulate.add_argument("--preset", default="sample", choices=tuple(PRESETS), metavar="PRESET",
                          help=f"simulation preset: {', '.join(PRESETS)} (default: sample; large is a year of "
                               "10M contacts written as Parquet)")
    simulate.add_argument("--out", metavar="DIR", required=True, help="output folder")
    simulate.add_argument("--seed", type=int, default=None, help="random seed (default: the preset's)")
    simulate.add_argument("--handoffs", action="store_true",
                          help="a third of contacts handled by two or three agents: writes contact_agents.csv "
                               "(each agent's share of the public replies) and a dataset.yaml with shared credit")
    simulate.add_argument(
        "--vendor", choices=EXPORT_VENDORS, default=None, metavar="VENDOR",
        help=f"write the simulated operation as this helpdesk's export ({', '.join(EXPORT_VENDORS)}), with "
             "truth_contacts.csv, truth.json and mapping.yaml (the account's tags and fields for `upstream import "
             "--mapping`), instead of the canonical tables")


def _add_import_command(commands) -> None:
    """``upstream import``: a vendor's export, the output folder, the mapping and the table format."""
    imp = commands.add_parser(
        "import",
        help="turn a helpdesk export into an Upstream data set",
        description=("Read a helpdesk export (Zendesk, Freshdesk, Intercom, Help Scout, Gorgias, or any table with a "
                     "mapping) and write the canonical tables, dataset.yaml (the survey scale, attribution, missing "
                     "columns) and an import report (import_report.json and import_report.html)."),
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("vendor", choices=IMPORT_VENDORS,
                     help="the export's vendor (csv: any table, with a mapping)")
    imp.add_argument("export", metavar="EXPORT", help="the export folder of saved API pages, or a CSV export file")
    imp.add_argument("--out", metavar="DIR", required=True,
                     help="new folder for the data set (must not exist or be empty)")
    imp.add_argument("--mapping", metavar="MAPPING.yaml", default=None,
                     help="custom fields, tags and constants for policy, product, issue type ... (docs/importers/)")
    imp.add_argument("--require-mapping", action="store_true",
                     help="refuse (exit 2, nothing written) when policy, product or issue type would be 'unknown' "
                          "for every contact")
    imp.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="table_format",
                     help="file format of the tables (default: csv)")
    imp.add_argument("--no-validate", action="store_true",
                     help="skip the validation of the written tables (load_dataset validates them anyway)")


def _fail(message: str, code: int = 2) -> int:
    sys.stderr.write(f"upstream: error: {message}\n")
    return code


def _cmd_run(args: argparse.Namespace) -> int:
    from upstream import runner
    from upstream.runner.publish import keep_failed_count

    if args.list:
        return _cmd_studies(args)
    try:
        overrides = dict(runner.parse_parameter(text) for text in args.parameters)
        try:
            keep_failed_count()
        except ValueError as err:
            raise runner.StudyError(str(err)) from None
        study_path = runner.resolve_study(args.study) if args.study else runner.default_study_path()
        study = runner.load_study(study_path, data_dir=args.data, overrides=overrides, engine=args.engine)
        runner.check_engine(study.engine, study.notebooks)
        runner.check_kernel(args.kernel)
        if args.jobs is not None and args.jobs < 1:
            raise runner.StudyError(f"--jobs must be 1 or more, got {args.jobs}")
        jobs = runner.default_jobs() if args.jobs is None else args.jobs
    except runner.StudyError as err:
        return _fail(str(err))
    try:
        result = runner.run_study(
            study,
            reports_dir=args.reports,
            kernel=args.kernel,
            name_agents=args.name_agents,
            jobs=jobs,
        )
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted. Nothing was published.\n")
        return 130
    if result.index_path is not None:
        sys.stdout.write(f"{result.index_path}\n")
        sys.stdout.flush()
    return result.exit_code


def _cmd_studies(args: argparse.Namespace) -> int:
    from upstream.runner import StudyError
    from upstream.runner.catalog import studies_text

    try:
        sys.stdout.write(studies_text())
    except StudyError as err:
        return _fail(str(err))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    try:
        from upstream.simulate import simulate_to_folder
    except ImportError as err:
        return _fail(f"the simulator is not available ({err})", 1)
    if args.vendor and args.handoffs:
        return _fail("--handoffs writes the canonical tables with contact_agents.csv; it cannot be combined with "
                     "--vendor")
    try:
        if args.vendor:
            from upstream.simulate.exports import simulate_export

            out = simulate_export(Path(args.out), args.vendor, preset=args.preset, seed=args.seed)
            mapping = Path(out).absolute() / "mapping.yaml"
            importer = "zendesk" if args.vendor == "zendesk-csv" else args.vendor
            export = Path(out).absolute() / "tickets.csv" if args.vendor == "zendesk-csv" else Path(out).absolute()
            if mapping.is_file():
                sys.stderr.write(f"Wrote the mapping of the export's tags and fields to {mapping}; import with\n"
                                 f"  upstream import {importer} {export} --out DIR --mapping {mapping}\n")
        else:
            out = simulate_to_folder(Path(args.out), preset=args.preset, seed=args.seed, handoffs=args.handoffs)
    except (ValueError, FileExistsError) as err:  # unknown preset, refused overwrite
        return _fail(str(err))
    sys.stdout.write(f"{Path(out).absolute()}\n")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from upstream.data.importers import ImportInputError, import_export

    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        return _fail(f"{out}: the output folder exists and is not empty; nothing was written (choose a new folder)")
    try:
        result = import_export(args.vendor, Path(args.export), args.mapping)
        unmapped = unmapped_columns(result.contacts)
        if unmapped and args.require_mapping:
            return _fail(f"{Path(args.export).name}: {_listing(unmapped)} would be '{UNKNOWN}' for every contact "
                         f"({'with' if args.mapping else 'without'} --mapping) and --require-mapping was given; "
                         f"nothing was written to {out}. {MAPPING_HELP}")
        written = result.write(out, fmt=args.table_format, validate=not args.no_validate)
    except ImportInputError as err:
        return _fail(f"{err}\nNothing was written to {out}.")
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted. Nothing was written.\n")
        return 130
    except Exception as err:  # noqa: BLE001 - an importer bug or an export shape nobody foresaw
        return _fail(f"{Path(args.export).name}: the import failed unexpectedly ({type(err).__name__}: {err}); "
                     f"nothing was written to {out}. Please report this with the export's shape.", 1)
    report = result.report
    rows = report.to_dict()["rows"]
    lines = [f"Imported {report.vendor} ({report.format}) from {args.export}:"]
    for table in ("contacts", "surveys"):
        row = rows[table]
        lines.append(f"  {table}: {row['kept']:,} kept of {row['read']:,} read"
                     + (f", {row['dropped']:,} dropped" if row["dropped"] else ""))
    lines.append(f"  agents: {rows['agents']['kept']:,}")
    scale = report.scale
    lines.append(f"  CSAT: {scale.get('vendor_scale', '')} -> codes 1..{scale.get('points')} "
                 f"({scale.get('kind')}), top box {scale.get('top_box')}")
    lines.append(f"  attribution: {report.attribution.get('rule')}")
    if report.warnings:
        lines.append(f"  {len(report.warnings)} warning(s): see import_report.html")
    lines.append(f"  report: {written.absolute() / 'import_report.html'}")
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    if unmapped:
        sys.stderr.write(unmapped_warning(unmapped, bool(args.mapping)))
        sys.stderr.flush()
    sys.stdout.write(f"{written.absolute()}\n")
    return 0


#: Where a mapping comes from (said whenever one is missing).
MAPPING_HELP = ("A mapping names the tags or custom fields that hold them: see \"The mapping\" in "
                "docs/importers/README.md (an example to copy) or the mapping.yaml `upstream simulate --vendor` "
                "writes beside its export; then import again with --mapping mapping.yaml.")
UNKNOWN = "unknown"
MAPPED_COLUMNS = ("policy", "product", "issue_type")


def unmapped_columns(contacts) -> list[str]:
    """Of policy, product and issue type, the columns that are 'unknown' for every contact."""
    if len(contacts) == 0:
        return []
    return [c for c in MAPPED_COLUMNS if c in contacts and bool((contacts[c].astype("str") == UNKNOWN).all())]


def unmapped_warning(columns: list[str], had_mapping: bool) -> str:
    """The warning an import with unmapped policy, product or issue type prints on stderr."""
    return (f"upstream: warning: {_listing(columns)} {'is' if len(columns) == 1 else 'are'} '{UNKNOWN}' for every "
            f"contact: {'the mapping does not name' if had_mapping else 'no --mapping names'} where the export "
            f"keeps {'it' if len(columns) == 1 else 'them'}.\n"
            f"  The studies then estimate no {_listing(columns, 'or')} effects"
            + (" (policy_friction has no policies to compare)" if "policy" in columns else "")
            + f" and cannot tell what {'it does' if len(columns) == 1 else 'they do'} to CSAT apart from the agents.\n"
            f"  {MAPPING_HELP} (--require-mapping makes this an error.)\n")


def _listing(columns: list[str], conjunction: str = "and") -> str:
    names = [c.replace("_", " ") for c in columns]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``upstream`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        return _cmd_run(args)
    if args.command == "studies":
        return _cmd_studies(args)
    if args.command == "simulate":
        return _cmd_simulate(args)
    if args.command == "import":
        return _cmd_import(args)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
