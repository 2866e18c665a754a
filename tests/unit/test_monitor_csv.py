"""The monitor averages' CSV format (infra/adapters/monitor_csv.py): what Dutch monitor tools
export is
read; every problem is refused naming its line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from infra.adapters.monitor_csv import MAX_BYTES, MAX_ROWS, CsvReason, CsvRefused, parse

HEADER = b"schooljaar;veiligheid;pesten;welbevinden\n"


def _refused(data: bytes, *, school_column: bool = False) -> CsvRefused:
    with pytest.raises(CsvRefused) as caught:
        parse(data, school_column=school_column)
    return caught.value


def test_semicolons_and_decimal_commas_with_a_bom() -> None:
    data = "\ufeffSchooljaar;Veiligheid;Pesten;Welbevinden\r\n2024-2025;86,5;14;7,8\r\n\r\n"
    rows = parse(data.encode())
    assert [(r.line, str(r.year)) for r in rows] == [(2, "2024-2025")]
    assert rows[0].averages.safety == Decimal("86.5")
    assert rows[0].averages.bullying == Decimal("14.0")


def test_commas_with_quoted_decimal_commas_columns_in_any_order_extra_ignored() -> None:
    data = 'pesten,schooljaar,respondenten,welbevinden,veiligheid\n"12,0",2025-2026,311,7.5,87.5\n'
    (row,) = parse(data.encode())
    assert str(row.year) == "2025-2026"
    assert (row.averages.safety, row.averages.bullying, row.averages.wellbeing) == (
        Decimal("87.5"),
        Decimal("12.0"),
        Decimal("7.5"),
    )


@pytest.mark.parametrize(
    ("data", "reason", "line"),
    [
        (b"schooljaar;veiligheid;pesten\n2025-2026;1;2\n", CsvReason.MISSING_COLUMNS, 1),
        (b"schooljaar;veiligheid;pesten;welbevinden\n", CsvReason.NO_ROWS, 0),
        (b"schooljaar;veiligheid;pesten;welbevinden\n2025;1;2;3\n", CsvReason.SCHOOL_YEAR, 2),
        (b"schooljaar;veiligheid;pesten;welbevinden\n2025-2027;1;2;3\n", CsvReason.SCHOOL_YEAR, 2),
        (b"schooljaar;veiligheid;pesten;welbevinden\n2025-2026;101;2;3\n", CsvReason.AVERAGE, 2),
        (b"schooljaar;veiligheid;pesten;welbevinden\n2025-2026;1,25;2;3\n", CsvReason.AVERAGE, 2),
        (b"schooljaar;veiligheid;pesten;welbevinden\n2025-2026;NaN;2;3\n", CsvReason.AVERAGE, 2),
        (b"schooljaar;veiligheid;pesten;welbevinden\n2025-2026;1;2\n", CsvReason.AVERAGE, 2),
        (
            b"schooljaar;veiligheid;pesten;welbevinden\n2024-2025;1;2;3\n2024-2025;4;5;6\n",
            CsvReason.DUPLICATE_YEAR,
            3,
        ),
        (
            HEADER + b"2024-2025;1;2;3\n=cmd|' /C calc'!A0;1;2;3\n",
            CsvReason.FORMULA,
            3,
        ),
        (
            b"schooljaar;veiligheid;pesten;welbevinden\n2025-2026;@SUM(1);2;3\n",
            CsvReason.FORMULA,
            2,
        ),
        (b"schooljaar;veiligheid;pesten;welbevinden\n2025-2026; +1;2;3\n", CsvReason.FORMULA, 2),
        (
            "schooljaar;veiligheid;pesten;welbevinden\n2025-2026;87,5;1;2\n".encode("utf-16"),
            CsvReason.ENCODING,
            1,
        ),
        (b"schooljaar;veiligheid;pesten;welbevinden\n2025-2026;\xe9;1;2\n", CsvReason.ENCODING, 2),
        (
            b"schooljaar;veiligheid;pesten;welbevinden\n2025-2026;1\x00;2;3\n",
            CsvReason.UNREADABLE,
            2,
        ),
        (
            b'schooljaar;veiligheid;pesten;welbevinden\n2025-2026;"1"x;2;3\n',
            CsvReason.UNREADABLE,
            2,
        ),
    ],
)
def test_refused_naming_the_line(data: bytes, reason: str, line: int) -> None:
    refused = _refused(data)
    assert (refused.reason, refused.line) == (reason, line)


def test_size_and_row_limits() -> None:
    assert _refused(b"x" * (MAX_BYTES + 1)).reason == CsvReason.TOO_LARGE
    head = "school;schooljaar;veiligheid;pesten;welbevinden\n"
    rows = "".join(f"s{i};2025-2026;1;2;3\n" for i in range(MAX_ROWS + 1))
    refused = _refused((head + rows).encode(), school_column=True)
    assert (refused.reason, refused.line) == (CsvReason.TOO_MANY_ROWS, MAX_ROWS + 2)


def test_a_boards_file_names_a_school_per_row() -> None:
    head = b"School;schooljaar;veiligheid;pesten;welbevinden\n"
    data = head + b"obs-a;2025-2026;1;2;3\nOBS  B;2025-2026;1;2;3\n"
    rows = parse(data, school_column=True)
    assert [r.school for r in rows] == ["obs-a", "OBS B"]
    assert _refused(HEADER + b"2025-2026;1;2;3\n", school_column=True).reason == (
        CsvReason.MISSING_COLUMNS
    )
    empty = b"school;schooljaar;veiligheid;pesten;welbevinden\n ;2025-2026;1;2;3\n"
    assert _refused(empty, school_column=True).reason == CsvReason.MISSING_SCHOOL
    twice = (
        b"school;schooljaar;veiligheid;pesten;welbevinden\nx;2025-2026;1;2;3\nX;2025-2026;1;2;3\n"
    )
    assert _refused(twice, school_column=True).line == 3
