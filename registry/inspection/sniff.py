"""What a file is, from its first bytes: refuse pickles and other formats before any parser sees them."""

from __future__ import annotations


class Rejected(Exception):
    """The file is not acceptable; the message says why and what to do. ``field`` names the form field the
    refusal belongs to when it is not the file itself (a label column that is not in it)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


_MAGIC = [
    (b"PK\x03\x04", "a ZIP archive (a PyTorch .pt/.pth checkpoint, a Keras .keras file or a zipped folder)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (a Keras .h5 model)"),
    (b"PAR1", "a Parquet file"),
    (b"\x7fELF", "an executable program"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
]


def read_head(path: str, n: int = 4096) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


BOMS = (b"\xef\xbb\xbf",)


def looks_like_text(head: bytes) -> bool:
    if head.startswith(BOMS):  # a UTF-8 byte-order mark (Excel writes one) is text
        head = head[3:]
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return _printable(text)


def _printable(text: str) -> bool:
    return sum(ch.isprintable() or ch in "\r\n\t" for ch in text) >= 0.95 * max(len(text), 1)


def latin1_text(head: bytes) -> bool:
    """Text in Latin-1 or Windows-1252 (as older Excel saves CSV), not UTF-8."""
    if b"\x00" in head:
        return False
    try:
        return _printable(head.decode("cp1252"))
    except UnicodeDecodeError:
        return False


def describe_foreign(head: bytes, *, expected: str) -> str | None:
    """Name what a file is when it is clearly not ``expected``; None when it may be."""
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return (
            "This is a Python pickle (a .pkl or joblib file). Gatehouse never loads pickles, because loading "
            "one runs code. Export the model to ONNX (skl2onnx, torch.onnx.export, tf2onnx) and upload the "
            ".onnx file."
        )
    for magic, what in _MAGIC:
        if head.startswith(magic) and not (magic == b"PAR1" and expected == "parquet"):
            hint = (
                " Export the model to ONNX (torch.onnx.export, tf2onnx, skl2onnx) and upload the .onnx file."
                if expected == "onnx"
                else ""
            )
            return f"This is {what}, not {expected_label(expected)}.{hint}"
    return None


def expected_label(expected: str) -> str:
    return {"onnx": "an ONNX model", "csv": "a CSV file", "parquet": "a Parquet file"}[expected]
