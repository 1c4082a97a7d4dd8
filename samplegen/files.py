"""Writing the raw files byte-reproducibly: CSV with Arrow in any encoding, frozen .xlsx."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv


def write_csv(columns: dict[str, pa.Array], path: Path, encoding: str,
              append: bool = False) -> None:
    """Write a CSV with Arrow (unquoted; fails loudly on a value that would need quotes).

    ``utf-8-sig`` writes a BOM; any other encoding but UTF-8 (GBK) is transcoded.
    ``append=True`` adds the rows to the end of the file (no BOM, no header): a file
    written in parts is byte for byte the file written at once.
    """
    table = pa.table(columns)
    header = b"" if append else (",".join(table.column_names) + "\n").encode("utf-8")
    options = pcsv.WriteOptions(include_header=False, quoting_style="none")
    mode = "ab" if append else "wb"
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig"):
        with open(path, mode) as out:
            if encoding.lower().endswith("sig") and not append:
                out.write(b"\xef\xbb\xbf")
            out.write(header)
            pcsv.write_csv(table, out, options)
        return
    buffer = pa.BufferOutputStream()
    pcsv.write_csv(table, buffer, options)
    body = buffer.getvalue().to_pybytes()
    with open(path, mode) as out:
        out.write(header.decode("utf-8").encode(encoding))
        step = 1 << 24
        start = 0
        while start < len(body):                     # transcode in ~16 MB slices
            stop = body.find(b"\n", min(start + step, len(body)) - 1) + 1 or len(body)
            out.write(body[start:stop].decode("utf-8").encode(encoding))
            start = stop


def freeze_xlsx(path: Path) -> None:
    """Make an .xlsx byte-reproducible: fixed zip entry times and document timestamps."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    stamp = b"2020-01-01T00:00:00Z"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            frozen = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            frozen.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(frozen, data)
