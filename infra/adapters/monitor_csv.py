"""Monitor averages imported from a CSV file (issue 15 §2), as Dutch monitor tools (Vensters,
WMK, ZIEN, ...) export them: one row per school year, the school's three averages.

The format (also on the page and in the README)::

    schooljaar;veiligheid;pesten;welbevinden
    2024-2025;86,5;14,0;7,8
    2025-2026;87,5;12;7,5

- UTF-8 (a byte-order mark is allowed), at most :data:`MAX_BYTES` bytes and :data:`MAX_ROWS`
  rows; the delimiter is ``;`` or ``,`` (from the header line); with ``,`` a decimal comma needs
  quotes (``"87,5"``), as spreadsheet programs write it;
- the header names the four columns in any order, case-insensitively; other columns are
  ignored; empty lines are skipped;
- ``schooljaar`` like ``2025-2026``; each average 0 to 100 with at most one decimal (``87,5``
  or ``87.5``), as the form takes them;
- a cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
  tab or a carriage return) is refused, as is a school year twice in one file.

Every row is checked before anything is stored: the first problem is refused naming its line
(:class:`CsvRefused`), and nothing of the file is stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from infra.adapters.monitor_averages import FIELDS, MonitorAverages, parse_average
from projections.yearly_report import SchoolYear
from services.shared.errors import InvalidInput

MAX_BYTES = 64 * 1024
MAX_ROWS = 200
YEAR_COLUMN = "schooljaar"
#: A board's file names each row's school (its short name, the ``slug``, or its name).
SCHOOL_COLUMN = "school"
COLUMNS: tuple[str, ...] = (YEAR_COLUMN, *(field for field, _ in FIELDS))
#: What a spreadsheet may run as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CsvReason:
    """Why a file was refused (``InvalidInput.reason``; stable words)."""

    TOO_LARGE = "too_large"
    ENCODING = "not_utf8"
    UNREADABLE = "unreadable"
    MISSING_COLUMNS = "missing_columns"
    NO_ROWS = "no_rows"
    TOO_MANY_ROWS = "too_many_rows"
    FORMULA = "formula"
    SCHOOL_YEAR = "invalid_school_year"
    AVERAGE = "invalid_average"
    DUPLICATE_YEAR = "duplicate_year"
    MISSING_SCHOOL = "missing_school"
    UNKNOWN_SCHOOL = "unknown_school"


class CsvRefused(InvalidInput):
    """A monitor file refused: ``line`` is the file's line (1: the header; 0: the whole file),
    ``column`` the column blamed (if one is)."""

    code = "invalid_monitor_file"

    def __init__(self, message: str, *, reason: str, line: int, column: str | None = None) -> None:
        super().__init__(message, field=column or "bestand", reason=reason)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class MonitorRow:
    line: int
    year: SchoolYear
    averages: MonitorAverages
    #: The school the row names (a board's file; ``""`` in a school's own).
    school: str = ""


def decode(data: bytes) -> str:
    """The file's text: UTF-8, a leading byte-order mark dropped."""
    if len(data) > MAX_BYTES:
        msg = f"the file is larger than {MAX_BYTES} bytes"
        raise CsvRefused(msg, reason=CsvReason.TOO_LARGE, line=0)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        msg = f"line {line}: the file is not UTF-8 text"
        raise CsvRefused(msg, reason=CsvReason.ENCODING, line=line) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        msg = f"line {line}: the file holds a NUL character"
        raise CsvRefused(msg, reason=CsvReason.UNREADABLE, line=line)
    return text.removeprefix("\ufeff")


def parse(data: bytes, *, school_column: bool = False) -> list[MonitorRow]:
    """Every row of a monitor file, checked; :class:`CsvRefused` at the first problem.
    ``school_column``: a board's file, whose rows each name a school (:data:`SCHOOL_COLUMN`;
    which schools it may name is the caller's to check)."""
    text = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[MonitorRow] = []
    columns: dict[str, int] | None = None
    seen: dict[tuple[str, int], int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            for cell in record:
                if cell.startswith(FORMULA_STARTS) or cell.strip().startswith(FORMULA_STARTS):
                    msg = f"line {line}: a cell starts like a spreadsheet formula"
                    raise CsvRefused(msg, reason=CsvReason.FORMULA, line=line)
            if columns is None:
                columns = _header(record, line, school_column=school_column)
                continue
            if len(rows) >= MAX_ROWS:
                msg = f"line {line}: more than {MAX_ROWS} rows"
                raise CsvRefused(msg, reason=CsvReason.TOO_MANY_ROWS, line=line)
            row = _row(record, columns, line)
            key = (row.school.casefold(), row.year.start)
            if key in seen:
                msg = f"line {line}: school year {row.year} is on line {seen[key]} too"
                raise CsvRefused(
                    msg, reason=CsvReason.DUPLICATE_YEAR, line=line, column=YEAR_COLUMN
                )
            seen[key] = line
            rows.append(row)
    except csv.Error:
        msg = f"line {reader.line_num}: the line cannot be read as CSV"
        raise CsvRefused(msg, reason=CsvReason.UNREADABLE, line=reader.line_num) from None
    if not rows:
        msg = "the file has no rows of averages under its header"
        raise CsvRefused(msg, reason=CsvReason.NO_ROWS, line=0)
    return rows


def _header(record: list[str], line: int, *, school_column: bool) -> dict[str, int]:
    names = [cell.strip().casefold() for cell in record]
    wanted = (SCHOOL_COLUMN, *COLUMNS) if school_column else COLUMNS
    missing = [c for c in wanted if c not in names]
    if missing:
        msg = f"line {line}: the header lacks the column(s) {', '.join(missing)}"
        raise CsvRefused(msg, reason=CsvReason.MISSING_COLUMNS, line=line)
    return {c: names.index(c) for c in wanted}


def _cell(record: list[str], columns: dict[str, int], name: str) -> str:
    index = columns[name]
    return record[index] if index < len(record) else ""


def _row(record: list[str], columns: dict[str, int], line: int) -> MonitorRow:
    try:
        year = SchoolYear.parse(_cell(record, columns, YEAR_COLUMN))
    except ValueError:
        msg = f"line {line}: schooljaar must look like 2025-2026"
        raise CsvRefused(msg, reason=CsvReason.SCHOOL_YEAR, line=line, column=YEAR_COLUMN) from None
    values = []
    for field, _ in FIELDS:
        try:
            values.append(parse_average(field, _cell(record, columns, field)))
        except InvalidInput:
            msg = f"line {line}: {field} must be a number from 0 to 100, at most one decimal"
            raise CsvRefused(msg, reason=CsvReason.AVERAGE, line=line, column=field) from None
    school = ""
    if SCHOOL_COLUMN in columns:
        school = " ".join(_cell(record, columns, SCHOOL_COLUMN).split())
        if not school:
            msg = f"line {line}: the row names no school"
            raise CsvRefused(msg, reason=CsvReason.MISSING_SCHOOL, line=line, column=SCHOOL_COLUMN)
    return MonitorRow(line, year, MonitorAverages(*values), school)
