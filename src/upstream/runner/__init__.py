"""The study runner: a study file (``spec``) is run by validating the data once and executing its
notebooks with papermill in the project kernel (``kernel``), exporting offline HTML (``export``), an
index page (``index_page``) and publishing the run atomically (``publish``); ``run`` orchestrates."""
from .catalog import project_studies, resolve_study
from .kernel import DEFAULT_KERNEL
from .publish import point_latest
from .run import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, RunResult, default_jobs, run_study
from .spec import (
    Study,
    StudyError,
    check_engine,
    check_kernel,
    default_study_path,
    load_study,
    parse_parameter,
    repo_root,
)

__all__ = ["run_study", "default_jobs", "load_study", "parse_parameter", "check_kernel", "check_engine",
           "default_study_path", "repo_root", "resolve_study", "project_studies",
           "Study", "StudyError", "RunResult", "point_latest", "DEFAULT_KERNEL", "EXIT_OK", "EXIT_FAILED",
           "EXIT_BAD_INPUT"]
