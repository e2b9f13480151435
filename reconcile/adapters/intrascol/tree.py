"""A page's HTML as an lxml tree, and the few ways the readers look into it.

The readers of `pages.py` and the checks of `page_checks.py` find elements by `id`,
`name` and class token only (`INTERFACE.md`) and take their text as a browser shows
it: never the text of comments, processing instructions, scripts, styles or templates.
These are the rules BeautifulSoup applied when the pages were read through it (its
`get_text` and its whitespace-split classes); lxml alone builds and reads the tree of a
users page seven times faster than BeautifulSoup on lxml did.
No I/O happens here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lxml import etree

Element = etree._Element

if TYPE_CHECKING:  # a protocol of lxml's stubs only: lxml calls the methods a target has
    _Target = etree.ParserTarget[Element]
else:
    _Target = object

# Text inside these is code or annotation, not the text of the element holding them
# (BeautifulSoup's "string containers"): a <script> in a cell adds nothing to the cell's text.
_NOT_TEXT = frozenset({"script", "style", "template", "rt", "rp"})
_KEEP_SPACES = frozenset({"pre", "textarea"})
_ASCII_SPACES = " \t\n\r\f"
_UNNAMED = "sans-nom"
# Characters lxml refuses in a tree it builds (XML 1.0 forbids them), for the rare deep page;
# a form feed is whitespace (it separates class tokens) and stays so.
_XML_SAFE = dict.fromkeys((*range(0x09), 0x0B, *range(0x0E, 0x20), 0xFFFE, 0xFFFF), "\ufffd") | {0x0C: " "}


def parse(text: str) -> Element:
    """The whole page as a tree; never raises: an empty page is an empty `<html>`.

    The text is given to libxml2 as UTF-8 bytes with the encoding said, so that no
    declaration in the page (`<?xml encoding=…?>`, `<meta charset>`) changes how it reads.
    Comments and processing instructions are left out of the tree.
    """
    data = text.encode("utf-8", errors="replace")  # a lone surrogate (never from `decode`) reads as `?`
    parser = etree.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, huge_tree=True
    )
    try:
        root: Element | None = etree.fromstring(data, parser)
        stopped = any(error.level_name == "FATAL" for error in parser.error_log)
    except etree.LxmlError:
        root, stopped = None, True
    if stopped:
        # libxml2 stopped building its tree (past 2,048 nested elements): the tree is cut.
        # Built from the parser's events instead, at any depth; slower, hence second.
        return _built_from_events(text.translate(_XML_SAFE).encode("utf-8", errors="replace"))
    return root if root is not None else etree.Element("html")


def _built_from_events(data: bytes) -> Element:
    builder = _Builder()
    parser = etree.HTMLParser(target=builder, encoding="utf-8", no_network=True, huge_tree=True)
    try:
        parser.feed(data)
        parser.close()
    except (etree.LxmlError, ValueError):
        pass  # what was built so far is kept
    return builder.root


class _Builder(_Target):
    """The tree of libxml2's parsing events, at any depth. A name lxml refuses (`<p cl<x="">`,
    which no reader looks for) is left out: the attribute, or the element's name (`_UNNAMED`)."""

    def __init__(self) -> None:
        self.root = etree.Element("html")
        self._open: list[Element] = []
        self._last: Element = self.root
        self._tail = False  # text goes to the tail of the last element closed, else its own text

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self._open:
            try:
                element = etree.SubElement(self._open[-1], tag)
            except ValueError:
                element = etree.SubElement(self._open[-1], _UNNAMED)
        else:
            element = self.root
        for name, value in attrib.items():
            with contextlib.suppress(ValueError):
                element.set(name, value)
        self._open.append(element)
        self._last, self._tail = element, False

    def end(self, tag: str) -> None:
        if self._open:
            self._last, self._tail = self._open.pop(), True

    def data(self, text: str) -> None:
        if self._tail:
            self._last.tail = (self._last.tail or "") + text
        else:
            self._last.text = (self._last.text or "") + text

    def close(self) -> Element:
        return self.root


def elements(scope: Element, path: str, value: str = "") -> list[Element]:
    """The elements an XPath expression selects, in document order.

    `$value` is `value`: a name of the contract, never a page's text (lxml refuses one
    holding a control character).
    """
    found = scope.xpath(path, smart_strings=False, value=value)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def first(scope: Element, path: str, value: str = "") -> Element | None:
    found = elements(scope, path, value)
    return found[0] if found else None


def by_id(scope: Element, element_id: str) -> Element | None:
    """The first element of the page whose `id` is `element_id`."""
    return first(scope, "//*[@id = $value]", element_id)


def name_of(element: Element) -> str:
    """An element's tag name, lower case (`td`)."""
    return str(element.tag)


def classes_of(element: Element) -> list[str]:
    """The class tokens of an element (`class="a succes b"` has `succes`)."""
    return (element.get("class") or "").split()


def with_class(scope: Element, name: str, tag: str = "*") -> Iterator[Element]:
    """The elements inside `scope` (not itself) bearing the class token `name`, in document order."""
    for element in elements(scope, f"descendant::{tag}[contains(@class, $value)]", name):
        if name in classes_of(element):
            yield element


def first_with_class(scope: Element, name: str, tag: str = "*") -> Element | None:
    return next(with_class(scope, name, tag), None)


def _holder(element: Element) -> str | None:
    """The innermost script, style, template… holding `element` (itself included), or None."""
    if element.tag in _NOT_TEXT:
        return str(element.tag)
    for ancestor in element.iterancestors(*_NOT_TEXT):
        return str(ancestor.tag)
    return None


def _preserved(element: Element) -> bool:
    """Whether `element` is in a <pre> or <textarea> (itself included): its whitespace is kept."""
    return element.tag in _KEEP_SPACES or next(element.iterancestors(*_KEEP_SPACES), None) is not None


def _piece(text: str, element: Element) -> str:
    """A piece of text in `element`: one of spaces only is one space or line break (as in BeautifulSoup)."""
    if text.strip(_ASCII_SPACES) or _preserved(element):
        return text
    return "\n" if "\n" in text else " "


def _strings(element: Element, wanted: str | None, blocks: frozenset[str]) -> list[str]:
    """The text pieces inside `element` whose innermost holder is `wanted` (None: plain text),
    with a space before each descendant named in `blocks`."""
    if len(element) == 0:  # most cells: no child, one piece of text
        text = element.text
        return [_piece(text, element)] if text and _holder(element) == wanted else []
    parent = element.getparent()
    holders = [_holder(parent) if parent is not None else None]
    pieces: list[str] = []
    for event, node in etree.iterwalk(element, events=("start", "end")):
        if event == "start":
            holders.append(str(node.tag) if node.tag in _NOT_TEXT else holders[-1])
            if node is not element and node.tag in blocks:
                pieces.append(" ")
            if node.text and holders[-1] == wanted:
                pieces.append(_piece(node.text, node))
        else:
            holders.pop()
            tail_parent = node.getparent()
            if node is not element and node.tail and tail_parent is not None and holders[-1] == wanted:
                pieces.append(_piece(node.tail, tail_parent))
    return pieces


def text_of(element: Element, separator: str = "") -> str:
    """An element's text: a <script>'s own code, else its text outside scripts, styles, templates."""
    wanted = str(element.tag) if element.tag in _NOT_TEXT else None
    return separator.join(_strings(element, wanted, frozenset()))


def shown_text(element: Element, blocks: frozenset[str]) -> str:
    """The plain text inside an element, a space before each element of `blocks` (a line of its own)."""
    return "".join(_strings(element, None, blocks))
