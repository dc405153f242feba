"""The data layer: the canonical data model (``schema``), the data set's description
(``description``, read from ``dataset.yaml`` by ``dataset_yaml`` through the pydantic models of
``dataset_shape``: the CSAT scale, NPS, attribution and missing columns),
reading and parsing a data set (``loading``), validating it with Great Expectations
(``validation``), the analysis frames the studies fit models to (``frames``), the helpdesk
importers that write data sets (``importers``) and the model formula the analyses fit with the rule for
which mix columns enter it (``model_formula``). Nothing here imports from the other layers but the shared
constants (``survey.constants``)."""
from .dataset_yaml import read_description
from .description import DEFAULT_DESCRIPTION, Attribution, ColumnNotes, CsatScale, DatasetDescription, NpsScale
from .loading import Dataset, find_table_file, load_dataset, parse_table
from .schema import SCHEMA, SUFFIXES, TABLES, Column, DataError, Failure, format_failures

__all__ = ["TABLES", "SUFFIXES", "SCHEMA", "Column", "Dataset", "DataError", "Failure", "format_failures",
           "find_table_file", "parse_table", "load_dataset", "DatasetDescription", "CsatScale", "NpsScale",
           "Attribution", "ColumnNotes", "DEFAULT_DESCRIPTION", "read_description"]
