"""Readable versions of the studies' tables for the leadership pages (rounded, percentages, intervals
as text, p-values formatted, agent ids replaced by labels): the formatting every study shares
(``common``) and `pages.page_tables(result, page)`, which turns the tables a study's page shows (each
study's ``display.page``, what `StudyView.show` displays) into readable frames, each cell the number of a
published tables/*.csv, a dash with a note where a value is undefined. The studies' own display
functions live in their packages (``upstream.studies.<name>.display``)."""
from .common import DASH, format_p, interval, readable

__all__ = ["interval", "format_p", "DASH", "readable"]
