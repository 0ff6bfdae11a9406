"""Reading published XML: its encoding, then the commonest breakage mended before a strict, entity-free parse."""

from __future__ import annotations

import codecs
import html.entities
import re
from dataclasses import dataclass, field

import lxml.etree

XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
# HTML's named entities (&eacute; &nbsp; &mdash;), which XML does not know; the names that need no ';' are left out.
HTML_ENTITIES = {name[:-1]: value for name, value in html.entities.html5.items() if name.endswith(";")}
# An '&' that does not start one of XML's five entities or a character reference: the sign of needed repair.
SUSPECT = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);|#[0-9]+;|#x[0-9a-fA-F]+;)|[\x00-\x08\x0b\x0c\x0e-\x1f]")
# CDATA, comments, the DOCTYPE and processing instructions are left alone; every '&' elsewhere is looked at.
# An unclosed one runs to the end (\Z): failing to close each of thousands of them would take quadratic time.
MENDABLE = re.compile(
    r"(?P<kept><!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|<!DOCTYPE(?:[^\[>]|\[.*?(?:\]|\Z))*(?:>|\Z)|<\?.*?(?:\?>|\Z))"
    r"|&(?:(?P<number>#[0-9]{1,8};|#[xX][0-9a-fA-F]{1,8};)|(?P<name>[A-Za-z][A-Za-z0-9._-]{0,40});)?",
    re.DOTALL,
)
ANY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Terminal escape sequences go whole, so no "[31m" is left behind in a title.
CONTROL_CHARACTERS = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"'][^>]*\?>")
ANY_DECLARATION = re.compile(r"^<\?xml[^>]*\?>")
DECLARED_ENTITY = re.compile(r"<!ENTITY\s+([^\s%][^\s]*)")
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"), (codecs.BOM_UTF8, "utf-8-sig"))  # fmt: skip
WIDE_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
# Bytes that Windows-1252 leaves undefined: read them as Latin-1, which maps every byte.
CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})


class BrokenXmlError(ValueError):
    """Not XML at all, even to a recovering parser."""


@dataclass
class XmlDocument:
    root: lxml.etree._Element
    # What was mended before the strict parse: the document reads right, nothing was guessed.
    repairs: list[str] = field(default_factory=list)
    # Set when only lxml's recovering parser could read it (it may have lost a part): the first syntax error.
    recovered_from: str | None = None


def safe_xml_parser(recover: bool, encoding: str | None = None) -> lxml.etree.XMLParser:
    """An lxml parser that never loads a DTD, expands entities or touches the network."""
    return lxml.etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=recover,
        remove_comments=True,
        remove_pis=True,
        encoding=encoding,
    )


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return "".join(chr(b) if b in CP1252_UNDEFINED else bytes([b]).decode("cp1252") for b in bad), error.end


codecs.register_error("signpost-cp1252", _cp1252_fallback)


def read_xml(body: bytes, base_url: str, charset: str | None = None) -> XmlDocument:
    """Parse ``body`` strictly, mending it first when needed; recover as a last resort; raise BrokenXmlError."""
    body = _strip_leading(body)
    declared = DECLARATION.match(body)
    if declared and _codec(declared.group(1).decode("ascii")) in WIDE_CODECS:
        # "<?xml" in one byte a character cannot be UTF-16 or UTF-32, whatever it says: the declaration is wrong.
        declared = None
    trust_lxml = declared is not None or not charset or _codec(charset) == "utf-8"
    if trust_lxml and not SUSPECT.search(body):
        try:
            return XmlDocument(lxml.etree.fromstring(body, safe_xml_parser(False), base_url=base_url))
        except lxml.etree.XMLSyntaxError:
            pass
    text, repairs = decode(body, declared.group(1).decode("ascii") if declared else None, charset)
    text, mended = mend(ANY_DECLARATION.sub("", text, count=1))
    data = text.encode("utf-8")
    repairs += mended
    try:
        return XmlDocument(lxml.etree.fromstring(data, safe_xml_parser(False, "utf-8"), base_url=base_url), repairs)
    except lxml.etree.XMLSyntaxError as error:
        problem = f"XML syntax error at line {error.lineno}: {error.msg.split(', line ')[0]}"
    try:
        root = lxml.etree.fromstring(data, safe_xml_parser(True, "utf-8"), base_url=base_url)
    except lxml.etree.XMLSyntaxError:
        root = None
    if root is None:
        raise BrokenXmlError(problem)
    return XmlDocument(root, repairs, problem)


def _strip_leading(body: bytes) -> bytes:
    # Whitespace or a blank line before <?xml is the commonest fatal error of hand-made feeds.
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body
    return body.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n\f\v\0")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def decode(body: bytes, declared: str | None, charset: str | None) -> tuple[str, list[str]]:
    """The text of an XML body: a BOM, then its own declaration, then the HTTP charset, then UTF-8.

    Bytes invalid in that encoding are read as Windows-1252 one by one, so an undeclared Latin-1 feed and a
    UTF-8 feed with one stray byte both read right.
    """
    repairs: list[str] = []
    encoding = next((name for bom, name in BOMS if body.startswith(bom)), None)
    for candidate in (declared, charset):
        if encoding is None and candidate:
            encoding = _codec(candidate)
            if encoding is None:
                repairs.append(f"unknown encoding {candidate!r}")
    encoding = encoding or "utf-8"
    try:
        return body.decode(encoding), repairs
    except UnicodeDecodeError as error:
        repairs.append(f"not valid {encoding} at byte {error.start}: read as Windows-1252")
        return body.decode(encoding, "signpost-cp1252"), repairs


def mend(text: str) -> tuple[str, list[str]]:
    """Escape bare '&', turn HTML entities into characters and drop characters XML forbids; say what was done."""
    counts = {"bare": 0, "html": 0, "unknown": 0, "control": 0}
    if ANY_CONTROL.search(text):
        text, counts["control"] = CONTROL_CHARACTERS.subn("", text)
    declared: set[str] = set()

    def replace(match: re.Match) -> str:
        if kept := match["kept"]:
            if kept.startswith("<!DOCTYPE"):
                # Entities the document declares stay references: never expanded, so no entity bomb.
                declared.update(DECLARED_ENTITY.findall(kept))
            return kept
        if number := match["number"]:
            return match[0] if _legal(number) else ""
        name = match["name"]
        if name is None:
            counts["bare"] += 1
            return "&amp;"
        if name in XML_ENTITIES or name in declared:
            return match[0]
        if (value := HTML_ENTITIES.get(name)) is not None:
            counts["html"] += 1
            return "".join(f"&#{ord(character)};" for character in value)
        counts["unknown"] += 1
        return f"&amp;{name};"

    text = MENDABLE.sub(replace, text)
    notes = {
        "bare": "escaped {} bare '&'",
        "html": "read {} HTML entities",
        "unknown": "kept {} unknown entities as text",
        "control": "removed {} control characters",
    }
    return text, [note.format(counts[key]) for key, note in notes.items() if counts[key]]


def _legal(reference: str) -> bool:
    digits = reference[1:-1]
    try:
        code = int(digits[1:], 16) if digits[:1] in "xX" else int(digits)
    except ValueError:
        return False
    return code in (9, 10, 13) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
