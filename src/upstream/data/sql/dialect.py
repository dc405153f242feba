"""The few spellings in which DuckDB's and Spark's SQL differ, so that every query of the data layer is
written once (``Dialect`` methods where they differ, plain ANSI SQL everywhere else)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str

    def ident(self, name: str) -> str:
        """A quoted column or table name."""
        if self.name == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value) -> str:
        """A SQL literal for text, a number, a boolean or None."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, float)):
            return repr(float(value)) if isinstance(value, float) else str(value)
        text = str(value)
        if self.name == "spark":          # Spark reads backslash escapes in string literals
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def blank(self, expr: str) -> str:
        """True when the text is empty or whitespace only (Python's str.strip() would leave nothing)."""
        if self.name == "spark":
            return f"({expr} RLIKE '^\\\\s*$')"
        return f"regexp_matches({expr}, '^\\s*$')"

    def regex(self, expr: str, pattern: str) -> str:
        """True when the text matches the regular expression `pattern` (anywhere, as Python's re.search)."""
        if self.name == "spark":
            return f"({expr} RLIKE {self.literal(pattern)})"
        return f"regexp_matches({expr}, {self.literal(pattern)})"

    def stripped(self, expr: str) -> str:
        """Text without surrounding whitespace (blanks, tabs, line breaks)."""
        if self.name == "spark":
            return f"regexp_replace({expr}, '^\\\\s+|\\\\s+$', '')"
        return f"regexp_replace({expr}, '^\\s+|\\s+$', '', 'g')"

    def replace_all(self, expr: str, pattern: str, replacement: str) -> str:
        """Every match of the regular expression `pattern` replaced (Python's re.sub)."""
        flags = "" if self.name == "spark" else ", 'g'"
        return f"regexp_replace({expr}, {self.literal(pattern)}, {self.literal(replacement)}{flags})"

    def find_all(self, expr: str, pattern: str) -> str:
        """The list of every match of `pattern` in the text, left to right (Python's re.findall, no groups)."""
        if self.name == "spark":
            return f"regexp_extract_all({expr}, {self.literal(pattern)}, 0)"
        return f"regexp_extract_all({expr}, {self.literal(pattern)})"

    def unnest(self, expr: str) -> str:
        """One row per element of a list (in a SELECT list)."""
        return f"explode({expr})" if self.name == "spark" else f"unnest({expr})"

    def finite(self, expr: str) -> str:
        if self.name == "spark":
            return f"({expr} IS NOT NULL AND NOT isnan({expr}) AND abs({expr}) < double('inf'))"
        return f"isfinite({expr})"

    def to_double(self, expr: str) -> str:
        """Text → DOUBLE, NULL when it is not a number."""
        return f"TRY_CAST({expr} AS DOUBLE)"

    def to_timestamp(self, expr: str) -> str:
        """ISO 8601 text → a UTC timestamp without time zone (offsets converted), NULL when it does not parse."""
        if self.name == "spark":
            return f"TRY_CAST({expr} AS TIMESTAMP)"
        return f"CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS {'STRING' if self.name == 'spark' else 'VARCHAR'})"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS BIGINT)"

    def log(self, expr: str) -> str:
        return f"ln({expr})"

    def week_start(self, expr: str) -> str:
        """The Monday that starts the timestamp's week as text ('2026-06-29', ``analysis.trends.week_of``)."""
        if self.name == "spark":
            return f"date_format(date_trunc('week', {expr}), 'yyyy-MM-dd')"
        return f"strftime(date_trunc('week', {expr}), '%Y-%m-%d')"

    def seconds_between(self, start: str, end: str) -> str:
        """end − start in seconds (DOUBLE), exact to the microsecond."""
        if self.name == "spark":
            return f"((unix_micros({end}) - unix_micros({start})) / 1e6)"
        return f"(date_diff('microsecond', {start}, {end}) / 1e6)"

    def month(self, expr: str) -> str:
        """The timestamp's month as text ('2026-07', ``analysis.trends.month_of``)."""
        if self.name == "spark":
            return f"date_format({expr}, 'yyyy-MM')"
        return f"strftime({expr}, '%Y-%m')"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
