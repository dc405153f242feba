"""The data layer: the canonical data model (``schema``), reading and parsing a data set
(``loading``), validating it with Great Expectations (``validation``) and the analysis frames the
studies fit models to (``frames``). Nothing here imports from the other layers."""
from .loading import Dataset, find_table_file, load_dataset, parse_table
from .schema import SCHEMA, SUFFIXES, TABLES, Column, DataError, Failure, format_failures

__all__ = ["TABLES", "SUFFIXES", "SCHEMA", "Column", "Dataset", "DataError", "Failure", "format_failures",
           "find_table_file", "parse_table", "load_dataset"]
