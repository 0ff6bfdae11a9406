"""Reading and writing OPML subscription lists, with errors that name the file and line."""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lxml.etree
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from signpost.spiders.urls import http_url
from signpost.spiders.xml_repair import decode, mend, safe_xml_parser

log = logging.getLogger(__name__)

MAX_OPML_BYTES = 10 * 1024 * 1024
CATEGORY_SEPARATOR = "/"


class OpmlError(ValueError):
    """The OPML file cannot be read; the message reads "origin:line: what is wrong"."""


@dataclass
class OpmlSource:
    url: str
    site_url: str | None = None
    title: str | None = None
    # Folder path of the outline, "Parent/Child"; None at the top level.
    category: str | None = None


@dataclass
class OpmlDocument:
    title: str | None
    sources: list[OpmlSource] = field(default_factory=list)
    # Outlines that were skipped, each as "origin:line: why".
    warnings: list[str] = field(default_factory=list)


class _LineNumberingParser(DefusedXMLParser):
    """defusedxml's ElementTree parser that also remembers the line each element starts on."""

    def __init__(self) -> None:
        # A bare <!DOCTYPE opml> is harmless; entity declarations and external references are refused.
        super().__init__(forbid_dtd=False, forbid_entities=True, forbid_external=True)
        self.lines: dict[ElementTree.Element, int] = {}
        start = self.parser.StartElementHandler

        def start_with_line(tag: str, attributes: Any) -> ElementTree.Element:
            element = start(tag, attributes)
            self.lines[element] = self.parser.CurrentLineNumber
            return element

        self.parser.StartElementHandler = start_with_line

    @property
    def current_line(self) -> int:
        return self.parser.CurrentLineNumber


def parse_opml(body: bytes, origin: str = "<opml>") -> list[OpmlSource]:
    """The feeds an OPML file lists; raise OpmlError naming origin and line when it is malformed."""
    return read_opml(body, origin).sources


def read_opml(body: bytes, origin: str = "<opml>") -> OpmlDocument:
    """The title, feeds and skipped outlines of an OPML file.

    As people export it: a bare '&', an HTML entity or a mismatched tag is mended or recovered from (without
    expanding any entity), with a warning; only a file that is not XML at all raises OpmlError.
    """
    if len(body) > MAX_OPML_BYTES:
        raise OpmlError(f"{origin}: larger than {MAX_OPML_BYTES} bytes")
    warnings: list[str] = []
    try:
        root, line_of = _parse_strict(body, origin)
    except _StrictParseError as error:
        text, repairs = decode(body.lstrip(b"\xef\xbb\xbf \t\r\n"), None, None)
        text, mended = mend(re.sub(r"^<\?xml[^>]*\?>", "", text))
        try:
            root, line_of = _parse_strict(text.encode("utf-8"), origin)
            done = ", ".join(repairs + mended)
            warnings.append(f"{origin}:{error.line}: {error.message}; read it after mending: {done}")
        except _StrictParseError:
            root, line_of = _parse_recovering(text.encode("utf-8"), origin, error)
            warnings.append(
                f"{origin}:{error.line}: {error.message}; read by a recovering parser, outlines may be lost"
            )

    if _local(root.tag) != "opml":
        raise OpmlError(f"{origin}:{line_of(root)}: the root element is <{_local(root.tag)}>, not <opml>")
    body_element = next((child for child in root if _local(child.tag) == "body"), None)
    if body_element is None:
        raise OpmlError(f"{origin}:{line_of(root)}: <opml> has no <body>")
    head = next((child for child in root if _local(child.tag) == "head"), None)
    title_element = next((child for child in head if _local(child.tag) == "title"), None) if head is not None else None
    title = _clean(title_element.text) if title_element is not None else None

    document = OpmlDocument(title, warnings=warnings)
    _walk(body_element, [], document, origin, line_of, {})
    for warning in document.warnings:
        log.warning("%s", warning)
    return document


class _StrictParseError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _parse_strict(body: bytes, origin: str) -> tuple[Any, Callable[[Any], int]]:
    parser = _LineNumberingParser()
    try:
        parser.feed(body)
        root = parser.close()
    except ElementTree.ParseError as error:
        line = error.position[0] if error.position else parser.current_line
        raise _StrictParseError(line, str(error).split(": line ")[0]) from error
    except LookupError as error:
        # expat knows fewer encodings than Python; the mended retry decodes it in Python.
        raise _StrictParseError(1, str(error)) from error
    except DefusedXmlException as error:
        raise OpmlError(f"{origin}:{parser.current_line}: refused: {error}") from error
    return root, lambda element: parser.lines.get(element, 0)


def _parse_recovering(body: bytes, origin: str, error: _StrictParseError) -> tuple[Any, Callable[[Any], int]]:
    try:
        root = lxml.etree.fromstring(body, safe_xml_parser(recover=True, encoding="utf-8"))
    except lxml.etree.XMLSyntaxError:
        root = None
    if root is None:
        raise OpmlError(f"{origin}:{error.line}: {error.message}")
    return root, lambda element: element.sourceline or 0


def _walk(
    parent: Any,
    folders: list[str],
    document: OpmlDocument,
    origin: str,
    line_of: Callable[[Any], int],
    seen: dict[str, int],
) -> None:
    for outline in parent:
        if _local(outline.tag) != "outline":
            continue
        name = _clean(outline.get("text")) or _clean(outline.get("title"))
        xml_url = _clean(outline.get("xmlUrl")) or _clean(outline.get("xmlurl"))
        children = [child for child in outline if _local(child.tag) == "outline"]
        where = f"{origin}:{line_of(outline)}"
        if xml_url:
            url = http_url(xml_url)
            if url is None:
                document.warnings.append(f"{where}: outline {name!r} has xmlUrl {xml_url!r}, not an http(s) URL")
            elif url in seen:
                document.warnings.append(f"{where}: outline {name!r} repeats the feed of line {seen[url]}; skipped")
            else:
                seen[url] = line_of(outline)
                html_url = http_url(_clean(outline.get("htmlUrl")))
                document.sources.append(OpmlSource(url, html_url, name, _category(folders, outline)))
        elif not children:
            document.warnings.append(f"{where}: outline {name!r} has no xmlUrl and no child outlines; skipped")
        # An outline with children is a folder, even when it is also a feed (some readers write both).
        if children:
            _walk(outline, [*folders, name or "untitled"], document, origin, line_of, seen)


def _category(folders: list[str], outline: ElementTree.Element) -> str | None:
    if folders:
        return CATEGORY_SEPARATOR.join(folders)
    # OPML 2.0's category attribute: comma-separated slash-delimited paths; take the first.
    declared = _clean(outline.get("category"))
    if declared:
        first = declared.split(",")[0].strip().strip(CATEGORY_SEPARATOR)
        return first or None
    return None


def write_opml(sources: list[OpmlSource], title: str) -> bytes:
    """An OPML 2.0 document listing the sources, one folder outline per category level."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    body = ElementTree.SubElement(root, "body")
    folders: dict[tuple[str, ...], ElementTree.Element] = {(): body}
    for source in sources:
        path = tuple(part for part in (source.category or "").split(CATEGORY_SEPARATOR) if part.strip())
        parent = _folder(folders, path)
        attributes = {"type": "rss", "text": source.title or source.url, "xmlUrl": source.url}
        if source.title:
            attributes["title"] = source.title
        if source.site_url:
            attributes["htmlUrl"] = source.site_url
        ElementTree.SubElement(parent, "outline", attributes)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _folder(folders: dict[tuple[str, ...], ElementTree.Element], path: tuple[str, ...]) -> ElementTree.Element:
    if path not in folders:
        parent = _folder(folders, path[:-1])
        folders[path] = ElementTree.SubElement(parent, "outline", {"text": path[-1], "title": path[-1]})
    return folders[path]


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(value.split()) or None
