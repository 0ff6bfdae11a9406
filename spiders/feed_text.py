"""The text of feed elements: plain text kept as text, HTML turned into text, Atom's text constructs, clean titles."""

from __future__ import annotations

import base64
import binascii
import html
import re

import lxml.etree
import lxml.html

from signpost.spiders.xml_repair import HTML_ENTITIES

SUMMARY_MAX_CHARS = 1000
TITLE_MAX_CHARS = 500
# C0 and C1 control characters and terminal escape sequences: never part of a title, and harmful in a terminal.
CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
CLOSING_TAG = re.compile(r"</([A-Za-z][A-Za-z0-9]*)\s*>")
ANY_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
ENTITY = re.compile(r"&(#?[A-Za-z0-9]+);")
HTML_ELEMENTS = frozenset({
    "a", "abbr", "acronym", "address", "article", "aside", "audio", "b", "bdi", "bdo", "big", "blockquote", "br",
    "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em",
    "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "iframe",
    "img", "ins", "kbd", "li", "main", "mark", "nav", "nobr", "ol", "p", "picture", "pre", "q", "rp", "rt", "ruby",
    "s", "samp", "script", "section", "small", "source", "span", "strike", "strong", "style", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "video", "wbr",
})  # fmt: skip
TEXT_TYPES = frozenset({"text", "text/plain"})
HTML_TYPES = frozenset({"html", "text/html"})
XHTML_TYPES = frozenset({"xhtml", "application/xhtml+xml"})


def plain(value: str | None, max_chars: int) -> str | None:
    """Text with control characters and escape sequences gone, whitespace collapsed, cut to max_chars."""
    if not value:
        return None
    text = " ".join((value if value.isascii() and value.isprintable() else CONTROL.sub(" ", value)).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return text or None


def html_to_text(value: str | None, max_chars: int) -> str | None:
    """Plain text of an HTML fragment, whitespace collapsed and cut to max_chars."""
    if not value or not value.strip():
        return None
    if "<" not in value:
        # Only entities: no need for an HTML parser.
        return plain(html.unescape(value), max_chars) if "&" in value else plain(value, max_chars)
    try:
        fragment = lxml.html.fragment_fromstring(CONTROL.sub(" ", value), create_parent="div")
        for unwanted in fragment.xpath(".//script|.//style"):
            unwanted.drop_tree()
        value = fragment.text_content()
    except (lxml.etree.LxmlError, ValueError):
        value = re.sub(r"<[^>]*>", " ", value)
    return plain(value, max_chars)


def looks_like_html(value: str) -> bool:
    """Whether text from an element of unstated type (an RSS title) is HTML: it closes a tag or names an entity,
    and every tag and entity in it is HTML's. "History of the <blink> tag" and "</example>" are text."""
    if "<" not in value and "&" not in value:
        return False
    if not (CLOSING_TAG.search(value) or ENTITY.search(value)):
        return False
    if any(tag.lower() not in HTML_ELEMENTS for tag in ANY_TAG.findall(value)):
        return False
    return all(name.startswith("#") or name in HTML_ENTITIES for name in ENTITY.findall(value))


def guessed_text(value: str | None, max_chars: int) -> str | None:
    """RSS text of unstated type: HTML when it looks like HTML, otherwise text as it stands."""
    if not value:
        return None
    return html_to_text(value, max_chars) if looks_like_html(value) else plain(value, max_chars)


def element_text(element: lxml.etree._Element | None) -> str | None:
    """Text content, skipping entity references: they stay unexpanded (no billion laughs)."""
    if element is None:
        return None
    if not len(element):
        return (element.text or "").strip() or None
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(element_text(child) or "")
        parts.append(child.tail or "")
    return "".join(parts).strip() or None


def atom_text(element: lxml.etree._Element | None, max_chars: int) -> str | None:
    """An Atom text construct (1.0 type=text|html|xhtml, 0.3 MIME types and mode=escaped|base64|xml) as text."""
    if element is None:
        return None
    kind = (element.get("type") or "text").strip().lower()
    mode = (element.get("mode") or "").strip().lower()
    if mode == "base64":
        decoded = _base64_text(element.text or "")
        return html_to_text(decoded, max_chars) if kind in HTML_TYPES else plain(decoded, max_chars)
    if kind in XHTML_TYPES or (mode == "xml" and kind not in TEXT_TYPES | HTML_TYPES):
        return plain(element_text(_xhtml_content(element)), max_chars)
    if kind in HTML_TYPES or mode == "escaped":
        return html_to_text(element_text(element), max_chars)
    if kind in TEXT_TYPES:
        return plain(element_text(element), max_chars)
    # Any other MIME type: text if it says so, else not something a reader can show.
    return plain(element_text(element), max_chars) if kind.startswith("text/") else None


def _xhtml_content(element: lxml.etree._Element) -> lxml.etree._Element:
    # type="xhtml" wraps its markup in one <div> that is not part of the content.
    children = [child for child in element if isinstance(child.tag, str)]
    if len(children) == 1 and children[0].tag.rpartition("}")[2] == "div" and not (element.text or "").strip():
        return children[0]
    return element


def _base64_text(value: str) -> str | None:
    try:
        data = base64.b64decode("".join(value.split()), validate=False)
    except (binascii.Error, ValueError):
        return None
    return data.decode("utf-8", "signpost-cp1252")
