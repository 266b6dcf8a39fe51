"""An import file read whole before any row runs: encoding, limits, CSV syntax, headers.

Anything wrong here refuses the whole file, so nothing is half-imported because of the file's
form: 413 beyond 5 MiB, 400 beyond 10,000 data rows, for an encoding other than UTF-8
(a UTF-8 byte-order mark is fine), for broken CSV (an unclosed quote, a stray quote, a NUL,
a field over 128 KiB), for a header naming no known column, or one named twice, or missing
``email`` or both ``ticket_class_id`` and ``ticket_class_name``.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tessera import errors
from tessera.attendee_io.columns import IGNORED_COLUMNS, IMPORT_COLUMNS, fold

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _bad(message: str, code: str, **details: Any) -> errors.BadRequest:
    return errors.BadRequest(message, code=code, details=details or None)


def too_large() -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"An import file is at most 5 MiB ({MAX_BYTES:,} bytes); split it into several files",
        details={"limit_bytes": MAX_BYTES},
    )


def unneutralized(cell: str) -> str:
    """A cell as typed, without the ``'`` the export puts before a formula-like value."""
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_STARTS):
        return cell[1:]
    return cell


def decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise too_large()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _bad(
            "The file is UTF-16; save it as CSV UTF-8 and send it again",
            "invalid_encoding",
            encoding="utf-16",
        )
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _bad(
            f"The file is not UTF-8 (an invalid byte on line {line}); save it as CSV UTF-8"
            " and send it again",
            "invalid_encoding",
            line=line,
            byte_offset=exc.start,
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise _bad(f"The file holds a NUL character on line {line}", "malformed_csv", line=line)
    return text


@dataclass(frozen=True, slots=True)
class Upload:
    """The file's rows, and where each column is."""

    columns: Mapping[str, int]  # known column (folded name) → index
    answers: Mapping[str, int]  # question ID → index
    rows: Sequence[tuple[int, list[str]]]  # (row number as a spreadsheet counts it, cells)

    def cell(self, cells: list[str], column: str) -> str | None:
        index = self.columns.get(column)
        return _value(cells, index)

    def answer_cells(self, cells: list[str]) -> dict[str, str]:
        found = {qid: _value(cells, index) for qid, index in self.answers.items()}
        return {qid: value for qid, value in found.items() if value is not None}


def _value(cells: list[str], index: int | None) -> str | None:
    if index is None or index >= len(cells):
        return None
    value = unneutralized(cells[index].strip())
    return value or None


def parse(raw: bytes, question_keys: Mapping[str, str]) -> Upload:
    """``question_keys``: folded label → question ID of the event's live questions."""
    text = decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    record = 0
    try:
        header = next(reader, None)
        record = 1
        if header is None or not any(cell.strip() for cell in header):
            raise _bad("The file is empty: the first line must name the columns", "empty_file")
        columns, answers = _columns(header, question_keys)
        width = len(header)
        rows: list[tuple[int, list[str]]] = []
        for cells in reader:
            record += 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line: no row (the numbering still counts it)
            if len(rows) == MAX_ROWS:
                raise _bad(
                    f"An import file holds at most {MAX_ROWS:,} rows; split it into several files",
                    "too_many_rows",
                    limit_rows=MAX_ROWS,
                )
            if len(cells) > width and any(cell.strip() for cell in cells[width:]):
                raise _bad(
                    f"Row {record} has {len(cells)} cells but the header names {width} columns",
                    "malformed_csv",
                    row=record,
                    line=reader.line_num,
                )
            rows.append((record, cells))
    except csv.Error as exc:
        raise _bad(
            f"The file is not valid CSV near line {reader.line_num}: {exc}",
            "malformed_csv",
            line=reader.line_num,
        ) from None
    return Upload(columns, answers, rows)


def _columns(
    header: list[str], question_keys: Mapping[str, str]
) -> tuple[dict[str, int], dict[str, int]]:
    columns: dict[str, int] = {}
    answers: dict[str, int] = {}
    unknown: list[str] = []
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for index, name in enumerate(header):
        key = fold(unneutralized(name.strip()))
        if not key:
            continue  # a column without a header (a spreadsheet's trailing blank column)
        if key in seen:
            duplicates.append(name.strip())
            continue
        seen[key] = name
        if key in IMPORT_COLUMNS:
            columns[key] = index
        elif key in question_keys:
            answers[question_keys[key]] = index
        elif key not in IGNORED_COLUMNS:
            unknown.append(name.strip())
    if duplicates:
        raise _bad(
            f"Columns named more than once: {', '.join(duplicates)}",
            "duplicate_columns",
            columns=duplicates,
        )
    if unknown:
        raise _bad(
            f"Unknown columns: {', '.join(unknown)}. Columns are {', '.join(IMPORT_COLUMNS)},"
            " or the label of one of the event's questions",
            "unknown_columns",
            columns=unknown,
        )
    missing = [] if "email" in columns else ["email"]
    if "ticket_class_id" not in columns and "ticket_class_name" not in columns:
        missing.append("ticket_class_id or ticket_class_name")
    if missing:
        raise _bad(f"Missing columns: {', '.join(missing)}", "missing_columns", columns=missing)
    return columns, answers
