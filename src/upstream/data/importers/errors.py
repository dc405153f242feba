"""The one exception importers raise for bad input."""
from __future__ import annotations


class ImportInputError(ValueError):
    """An export or mapping that cannot be imported.

    ``str(err)`` is the whole message for the user: it names the file and says what was
    expected (the CLI prints it and exits with status 2). ``file`` is the file's name, when
    the problem is in one file.
    """

    def __init__(self, message: str, file: str | None = None):
        super().__init__(message)
        self.file = file
