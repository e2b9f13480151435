"""Text the way a Latin-1 PHP application of the 2010s sees it.

Forms arrive urlencoded in ISO-8859-1; a browser sends a character outside
Latin-1 as a numeric character reference (`&#321;ukasz`). The server keeps the
text it was sent and writes it back so that the page shows the character: we
decode the numeric references on the way in and let the page encoder turn every
character outside Latin-1 back into `&#NNN;` on the way out (see `encode_page`),
which is byte for byte what such a server answers, without double escaping.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl

PAGE_CHARSET = "ISO-8859-1"

_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,6})|([0-9]{1,7}));")

# Letters NFKD does not split into a base letter and an accent.
_ASCII_LETTERS = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Œ": "OE",
        "œ": "oe",
        "Æ": "AE",
        "æ": "ae",
        "ß": "ss",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "Þ": "Th",
        "þ": "th",
    }
)


def decode_references(text: str) -> str:
    """`&#321;ukasz` -> `Łukasz`; anything that is not a valid numeric reference stays."""

    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return match.group(0)
        return chr(code)

    return _NUMERIC_REFERENCE.sub(replace, text)


def parse_latin1_form(body: bytes) -> list[tuple[str, str]]:
    """Fields of an `application/x-www-form-urlencoded` body sent in ISO-8859-1, in order.

    Values have their numeric character references decoded: they hold the text the
    person typed.
    """
    text = body.decode("latin-1")
    return [
        (name, decode_references(value))
        for name, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1")
    ]


def encode_page(html: str) -> bytes:
    """The page in ISO-8859-1, characters outside it written as `&#NNN;`."""
    return html.encode("latin-1", errors="xmlcharrefreplace")


def clean_name(text: str) -> str:
    """A name as the server keeps it: NFC, inner spaces collapsed, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of a name: `N'Diaye` -> `ndiaye`, `Łukasz` -> `lukasz`."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_LETTERS))
    return "".join(ch for ch in decomposed.lower() if ch.isascii() and ch.isalnum())
