"""Decide a CSV file's dialect from whole records: RFC 4180 unless the file says otherwise.

The csv module's sniffer guesses from characters, and given only a header line without
quotes it turns double-quoting off, so ``"Gate ""A"", north"`` splits and every later field
shifts. Here quoting is always RFC 4180 (double quotes, escaped by doubling); only the
delimiter is chosen, by parsing a sample of whole records with each candidate and keeping
the one under which every record has the header's number of fields (the comma when several
do, the candidate giving the most consistent records when none does: the ragged-row check
then refuses the file with its line numbers).
"""

from __future__ import annotations

import csv
import io

__all__ = ["CANDIDATES", "Rfc4180", "choose_dialect"]

# In order of preference when more than one delimiter fits every record.
CANDIDATES = (",", ";", "\t", "|")


class Rfc4180(csv.Dialect):
    """RFC 4180 with a configurable delimiter (set per file by :func:`choose_dialect`)."""

    delimiter = ","
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL
    strict = False


def _dialect(delimiter: str) -> type[csv.Dialect]:
    return type("Rfc4180_" + hex(ord(delimiter)), (Rfc4180,), {"delimiter": delimiter})


def _records(sample: str, delimiter: str, complete: bool) -> list[list[str]] | None:
    """The sample's records under ``delimiter`` (the last dropped unless the sample is the
    whole file: it may be cut), or None when the sample does not parse."""
    try:
        rows = [r for r in csv.reader(io.StringIO(sample), _dialect(delimiter)) if r]
    except csv.Error:
        return None
    if not complete and len(rows) > 1:
        rows = rows[:-1]
    return rows


def choose_dialect(sample: str, *, complete: bool) -> type[csv.Dialect]:
    """The RFC 4180 dialect whose delimiter fits the sample's whole records best.

    ``complete`` says the sample is the whole file (its last record is whole).
    """
    best: tuple[tuple[int, int, int], str] | None = None
    for rank, delimiter in enumerate(CANDIDATES):
        rows = _records(sample, delimiter, complete)
        if not rows:
            continue
        # the widest of the first rows is the header (a title row above it may be narrower)
        width = max(len(r) for r in rows[:10])
        if width < 2:
            continue
        fitting = sum(1 for r in rows if len(r) == width)
        all_fit = fitting == len(rows) or fitting == len(rows) - sum(1 for r in rows[:10] if len(r) < width)
        score = (int(all_fit), fitting, -rank)
        if best is None or score > best[0]:
            best = (score, delimiter)
    return _dialect(best[1] if best else ",")
