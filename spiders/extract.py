"""Extraction of one fetched page into an article (trafilatura plus metadata), or the reason it is not one."""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import examine_meta, extract_meta_json, extract_metainfo, extract_title
from trafilatura.settings import Document
from trafilatura.utils import load_html
from trafilatura.xpaths import AUTHOR_XPATHS

from signpost.spiders.authors import choose_author, printed_byline
from signpost.spiders.published import page_date, parse_moment, reconcile_dates
from signpost.spiders.text_choice import feed_text, main_text
from signpost.spiders.titles import clean_author, headline, in_head, json_ld_blocks, json_ld_headlines
from signpost.spiders.urls import canonicalize_url
from signpost.store.records import ExtractedArticle, Skipped

LOGGER = logging.getLogger(__name__)

# Stored with each article so that pages can be re-extracted when either part changes.
EXTRACTOR_VERSION = f"trafilatura-{trafilatura.__version__}+signpost-4"

# A repeated line this long is a duplicated block (a pull quote, a sticky teaser), not a refrain.
DUPLICATE_LINE_MIN_WORDS = 8

# Whole lines that are page furniture, whatever the site.
BOILERPLATE_LINE = re.compile(
    r"^\W*(read more|continue reading|learn more|table of contents|advertisement|sponsored( content)?"
    r"|share( this( article| post| story| page)?)?( on \w+)?|tweet|print( this page)?|related (posts|articles|stories)"
    r"|you (may|might) also like|skip to (main )?content|back to top|\d+ min(ute)?s? read|loading\.*"
    r"|leave a (comment|reply)|follow us( on \w+)?|subscribe( now| to our newsletter)?|sign up( now)?)\W*$",
    re.IGNORECASE,
)

# Titles of soft error pages; a bare status number only counts alone or beside an error word ("500 recipes" is fine).
ERROR_TITLE = re.compile(
    r"^\W*(error\W*)?(40[0134]|410|50[0234])\W*$|\b(error|http)\W*(40[0134]|410|50[0234])\b"
    r"|^\W*(40[0134]|410|50[0234])\W+(error|not found|page not found|forbidden|unauthori[sz]ed|gone|bad request)"
    r"|\b(page|article|post|file|content) (was |could )?not( be)? found\b|^\W*not found\W*$"
    r"|\bpage (does not|doesn't|no longer) exists?\b|\baccess denied\b|^\W*forbidden\W*$"
    r"|\bsomething went wrong\b|\bpage unavailable\b",
    re.IGNORECASE,
)

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.IGNORECASE)
WORDS = re.compile(r"\w+")

# Listing pages: the main text is nearly all teaser blocks (a headline link and a line or two), at least five.
LISTING_MIN_ITEMS = 5
LISTING_TEXT_COVERAGE = 0.8
LISTING_MAX_ITEM_WORDS = 60
BLOCK_TAGS = frozenset({"p", "li", "div", "td", "article", "section", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt"})
INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template", "svg"})


def decode_body(body: bytes, encoding: str | None = None) -> str:
    """Decode a page: the HTTP header's charset, then a BOM or meta charset, then UTF-8, then windows-1252."""
    candidates: list[str] = []
    if encoding:
        candidates.append(encoding)
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if body.startswith(bom):
            candidates.insert(0, name)
    if match := META_CHARSET.search(body[:4096]):
        candidates.append(match.group(1).decode("ascii", "ignore"))
    candidates += ["utf-8", "cp1252"]
    for name in candidates:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue
        # browsers read latin-1 and ascii labels as windows-1252, and so do the servers that send them
        if codec in ("latin-1", "iso8859-1", "ascii"):
            codec = "cp1252"
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    return body.decode("utf-8", errors="replace")


def looks_like_html(body: bytes) -> bool:
    """Whether the bytes can be an HTML page: not binary, not a feed, with markup near the start."""
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    head = body[:2048].lstrip().lower()
    if not head or b"\x00" in head[:512]:
        return False
    if head.startswith((b"%pdf", b"\x89png", b"gif8", b"\xff\xd8", b"pk\x03\x04", b"{", b"[")):
        return False
    if re.search(rb"<(rss|feed|rdf:rdf|urlset|sitemapindex)[\s>]", head):
        return False
    return b"<" in head


# A byline or dateline kept above the body ("By Hannah Young", "Posted: Thursday 5th November"): it is metadata,
# and left in the text it makes a syndicated copy look like a rewrite and pollutes blurbs.
LEADING_META_LINE = re.compile(
    r"^(?i:(?:written|posted|submitted|words)\s+by|by)\s+[A-Z][\w'\u2019.-]*(?:\s+[A-Z][\w'\u2019.-]*){0,3}\s*(?:[|,\u00b7\u2013\u2014].*)?$"
    r"|^(?i:posted|published|updated|last\s+updated|date)(?::|\s+on)?\s+(?=.*\d).{1,60}$"
)
LEADING_META_MAX_WORDS = 10


def clean_text(text: str, title: str | None) -> str:
    """Drop the title repeated as the first line, a leading byline, furniture lines and duplicated blocks."""
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and title and _is_title_line(lines[0], title):
        lines = lines[1:]
    while len(lines) > 1 and _is_leading_meta(lines[0]):
        lines = lines[1:]
    kept: list[str] = []
    seen: set[str] = set()
    for line in lines:
        if BOILERPLATE_LINE.match(line.strip()):
            continue
        key = " ".join(WORDS.findall(line.lower()))
        if len(key.split()) >= DUPLICATE_LINE_MIN_WORDS:
            if key in seen:
                continue
            seen.add(key)
        kept.append(line)
    return unicodedata.normalize("NFC", "\n".join(kept))


LEADING_BYLINE = re.compile(r"^(?i:(?:written|posted|submitted|words)\s+by|by)\s+(?P<name>[^|,\u00b7\u2013\u2014]+)")


def leading_byline(text: str, title: str | None) -> str | None:
    """The name in a "By Jo Bloggs | Posted: ..." line opening the main text, where many sites print their byline."""
    for line in [line for line in text.split("\n") if line.strip()][:3]:
        if title and _same_words(line, title):
            continue
        if _is_leading_meta(line) and (match := LEADING_BYLINE.match(line.strip())):
            name = match.group("name").strip()
            return name if NAME.match(name) else None
    return None


def _outside_comments(tree: HtmlElement, name: str) -> bool:
    """Whether a name appears in the page other than in its comments (a commenter is not the author)."""
    return any(
        isinstance(element.tag, str) and name in (element.text or "") and not _in_comments(element)
        for element in tree.iter()
    )


def _outside_comments_name(element: HtmlElement) -> str | None:
    return None if _in_comments(element) else name_in_byline(element)


def _is_leading_meta(line: str) -> bool:
    stripped = line.strip()
    return len(stripped.split()) <= LEADING_META_MAX_WORDS and bool(LEADING_META_LINE.match(stripped))


def _same_words(first: str, second: str) -> bool:
    return WORDS.findall(first.lower()) == WORDS.findall(second.lower())


# The heading a headline came from may carry a label, a date or a byline too ("Blog: ...", "... Posted on ... by Jo").
TITLE_LINE_EXTRA_WORDS = 8


def _is_title_line(line: str, title: str) -> bool:
    line_words, title_words = WORDS.findall(line.lower()), WORDS.findall(title.lower())
    if not title_words or len(line_words) > len(title_words) + TITLE_LINE_EXTRA_WORDS:
        return False
    return line_words[: len(title_words)] == title_words or line_words[-len(title_words) :] == title_words


def page_metadata(tree: HtmlElement, url: str) -> Document:
    """Title, author, site name and image from meta tags and JSON-LD, without trafilatura's slow searches."""
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author.strip():
        # a single token in a meta tag is usually a handle or a site name; dropped before JSON-LD adds its names,
        # so that a page declaring "RenoFi" in a meta tag and "Richard Garner" in JSON-LD is Richard Garner's
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as error:  # JSON-LD in the wild breaks trafilatura's parser in many ways
        LOGGER.debug("JSON-LD metadata failed on %s: %s", url, error)
    metadata.clean_and_trim()
    return metadata


BYLINE_CLASSES = re.compile(r"author|byline|field--name-uid|username|writer", re.IGNORECASE)
BYLINE_PREFIX = re.compile(
    r"^\s*(?:(?:written|posted|submitted|words|authored)\s+by|by)(?:[:\s\u00b7]+|$)", re.IGNORECASE
)
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
BYLINE_END = re.compile(rf"\s+(?:on|at|in|\|)\s.*$|\s*[|\u00b7\u2022,\u2013\u2014].*$|\s+{MONTH}\s+\d.*$|\s+\d.*$")
NAME = re.compile(r"^[A-Z][\w'\u2019.-]+(?:\s+(?:[A-Z][\w'\u2019.-]+|de|van|von|da|le|la)){1,3}$")
# Words of a byline's furniture that a class search picks up instead of the name ("Updated November", "Full Bio").
NOT_NAME_WORDS = frozenset(
    {"updated", "published", "posted", "written", "read", "view", "about", "full", "bio", "author", "profile"}
    | {"more", "follow", "share", "by"}
)
COMMENT_CONTAINERS = re.compile(r"comment|reply|respond|discussion", re.IGNORECASE)
# Compiled once, and searching the attributes rather than testing every element: half the time on real pages.
BYLINE_CANDIDATES = etree.XPath(
    "//@class[contains(., 'author') or contains(., 'byline') or contains(., 'field--name-uid')"
    " or contains(., 'username')]/.. | //@rel[. = 'author']/.. | //@itemprop[. = 'author']/.."
)


def byline_author(tree: HtmlElement) -> str | None:
    """The author named in a visible byline (rel=author, an author/byline class), outside the comments.

    trafilatura's own byline search costs as much as the extraction itself; this covers the common markups.
    """
    for element in BYLINE_CANDIDATES(tree)[:20]:
        if not BYLINE_CLASSES.search(
            f"{element.get('class', '')} {element.get('rel', '')} {element.get('itemprop', '')}"
        ):
            continue
        if _in_comments(element):
            continue
        if name := name_in_byline(element):
            return name
    return None


def name_in_byline(element: HtmlElement) -> str | None:
    """The name a byline element prints, without "By" and what follows it (a date, a title, the site)."""
    # pieces of markup end the name: "<b>Mateusz Haberny</b><i>Founder</i>" prints no space between them
    text = " \u00b7 ".join(" ".join(piece.split()) for piece in element.itertext() if piece.strip())
    name = BYLINE_END.sub("", BYLINE_PREFIX.sub("", text)).strip()
    if not NAME.match(name) or NOT_NAME_WORDS & set(name.lower().split()):
        return None
    return name


def _in_comments(element: HtmlElement) -> bool:
    return any(COMMENT_CONTAINERS.search(f"{a.get('class', '')} {a.get('id', '')}") for a in element.iterancestors())


def canonical_url(tree: HtmlElement, url: str, metadata_url: str | None) -> str:
    """The page's declared canonical URL when it is on the same site and not just the home page, else the given URL."""
    declared = [link.get("href") for link in in_head(tree, "link[@rel='canonical']")]
    candidates = [href for href in (*declared, metadata_url) if href and href.strip()]
    page = urlsplit(url)
    for href in candidates:
        absolute = urljoin(url, href.strip())
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or _site(parts.hostname) != _site(page.hostname):
            continue
        # many sites point every page's canonical at their home page
        if parts.path.strip("/") == "" and page.path.strip("/") != "":
            continue
        return canonicalize_url(absolute)
    return canonicalize_url(url)


def _site(host: str | None) -> str:
    host = (host or "").lower()
    return host[4:] if host.startswith("www.") else host


def page_language(tree: HtmlElement) -> str | None:
    """The primary language subtag the page declares, from <html lang> or a content-language meta tag."""
    declared = tree.get("lang") or tree.get("xml:lang")
    if not declared:
        for meta in in_head(tree, "meta[@http-equiv]"):
            if meta.get("http-equiv", "").lower() == "content-language":
                declared = meta.get("content")
                break
    if not declared:
        return None
    primary = re.split(r"[-_,;\s]", declared.strip().lower())[0]
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def is_listing(tree: HtmlElement, text: str) -> bool:
    """An index page: the main text is mostly teasers, each a short block that starts with a link to another page."""
    body = tree.find("body")
    if body is None:
        return False
    # paragraphs longer than any teaser, holding much of the text, make an article: no need to read the links
    line_words = [len(line.split()) for line in text.split("\n")]
    long_words = sum(count for count in line_words if count > LISTING_MAX_ITEM_WORDS)
    if long_words > (1 - LISTING_TEXT_COVERAGE) * sum(line_words):
        return False
    items = _item_links(body)
    if len(items) < LISTING_MIN_ITEMS:
        return False
    teasers = [" ".join(" ".join(_visible_text(block)).split()) for block in _item_blocks(body, items)]
    teasers = [teaser for teaser in teasers if len(teaser.split()) <= LISTING_MAX_ITEM_WORDS]
    if len(teasers) < LISTING_MIN_ITEMS:
        return False
    # the share of the main text found inside teaser blocks: near all of it on an index page
    teaser_shingles = {shingle for teaser in teasers for shingle in _shingles(teaser)}
    text_shingles = [shingle for line in text.split("\n") for shingle in _shingles(line)]
    covered = sum(1 for shingle in text_shingles if shingle in teaser_shingles)
    return covered >= LISTING_TEXT_COVERAGE * max(1, len(text_shingles))


def _shingles(text: str) -> list[tuple[str, ...]]:
    words = WORDS.findall(text.lower())
    return [tuple(words[i : i + 4]) for i in range(max(1, len(words) - 3)) if words]


def _leading_words(block: HtmlElement, count: int) -> list[str]:
    """The first `count` visible words of an element, without reading the rest of it."""
    words: list[str] = []
    for element in block.iter():
        if isinstance(element.tag, str) and element.tag not in INVISIBLE_TAGS and element.text:
            words += element.text.split()
        if element.tail and element is not block:
            words += element.tail.split()
        if len(words) >= count:
            break
    return words[:count]


def _item_links(body: HtmlElement) -> list[HtmlElement]:
    """Links of three words or more that open their block (a headline), one per target."""
    by_target: dict[str, HtmlElement] = {}
    for link in body.iter("a"):
        href = (link.get("href") or "").strip()
        words = link.text_content().split()
        if len(words) < 3 or not href or href.startswith(("#", "javascript:", "mailto:")) or href in by_target:
            continue
        block = next((a for a in link.iterancestors() if a.tag in BLOCK_TAGS), None)
        if block is None or block.tag == "body":
            continue
        if _leading_words(block, len(words)) == words:
            by_target[href] = link
    return list(by_target.values())


def _item_blocks(body: HtmlElement, items: list[HtmlElement]) -> list[HtmlElement]:
    """For each item link, its largest enclosing element that holds no other item link."""
    # one walk up from each link counts the item links under every ancestor
    counts: dict[HtmlElement, int] = {}
    for link in items:
        for parent in link.iterancestors():
            counts[parent] = counts.get(parent, 0) + 1
    blocks = []
    for link in items:
        block = link
        for parent in link.iterancestors():
            if parent is body or counts[parent] > 1:
                break
            block = parent
        blocks.append(block)
    return blocks


def _visible_text(root: HtmlElement) -> list[str]:
    chunks = []
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag not in INVISIBLE_TAGS and element.text:
            chunks.append(element.text)
        if element.tail and element is not root:
            chunks.append(element.tail)
    return chunks


def is_error_page(tree: HtmlElement, title: str | None) -> bool:
    """A soft error page: its <title> or only heading says 404, not found, access denied and the like."""
    title_element = next(in_head(tree, "title"), None)
    headings = tree.findall(".//h1")
    texts = [title, title_element.text_content() if title_element is not None else None]
    if len(headings) == 1:
        texts.append(headings[0].text_content())
    return any(text and len(text) < 120 and ERROR_TITLE.search(text) for text in texts)


def extract_page(
    body: bytes,
    url: str,
    encoding: str | None = None,
    feed_entry: dict | None = None,
    min_chars: int = 250,
    first_seen: datetime | None = None,
) -> ExtractedArticle | Skipped:
    """The article in a page, or Skipped with the reason; never raises on bad input.

    ``first_seen`` is when the page was first fetched (now by default): no date after it is believed.
    """
    if not body or not looks_like_html(body):
        return Skipped("not html")
    try:
        tree = load_html(decode_body(body, encoding))
    except Exception as error:  # lxml rejects some documents outright
        LOGGER.debug("unparsable page %s: %s", url, error)
        tree = None
    if tree is None:
        return Skipped("not html")
    try:
        return _article_from_tree(tree, url, feed_entry or {}, min_chars, first_seen or datetime.now(UTC))
    except Exception as error:  # a page must never stop the extraction stage; the reason is kept with it
        LOGGER.warning("extraction failed on %s: %r", url, error)
        return Skipped(f"extraction failed ({type(error).__name__})")


def _article_from_tree(
    tree: HtmlElement, url: str, entry: dict, min_chars: int, first_seen: datetime
) -> ExtractedArticle | Skipped:
    metadata = page_metadata(tree, url)
    if is_error_page(tree, metadata.title):
        return Skipped("error page")
    site_names = [name for name in (metadata.sitename,) if name]
    title_element = next(in_head(tree, "title"), None)
    # a lone JSON-LD headline is the article's own, ahead of the SEO and sharing titles; several are a listing's
    json_ld = json_ld_blocks(tree)
    structured = json_ld_headlines(json_ld)
    declared = [
        *(structured if len(structured) == 1 else []),
        metadata.title,
        title_element.text_content() if title_element is not None else None,
        entry.get("title"),
        *(structured if len(structured) > 1 else []),
    ]
    title = headline(tree, [t for t in declared if t], site_names, url) or extract_title(tree) or None
    raw_text = main_text(tree, url, feed_text(entry))
    text = clean_text(raw_text, title)
    if not text.strip():
        return Skipped("no main text")
    if len(text) < min_chars:
        return Skipped(f"too short ({len(text)} chars)")
    if is_listing(tree, text):
        return Skipped("looks like a listing page")
    via = entry.get("via") or "feed"
    listed = parse_moment(entry.get("published"))
    witness = (f"the {via}'s date", listed) if listed else None
    stated, where = page_date(tree, url, first_seen, title, listed=witness, json_ld=json_ld)
    date = reconcile_dates(stated, where, listed, via, first_seen)
    printed = byline_author(tree) or leading_byline(raw_text, title)
    author = choose_author(metadata.author, printed, site_names, url) or clean_author(
        entry.get("author"), site_names, url
    )
    if not author:
        author = clean_author(printed_byline(tree, _outside_comments_name), site_names, url)
    if not author:
        # trafilatura's byline expressions, only where the cheap ways found nobody; trafilatura prunes a copy of the
        # whole tree first, checking that the name is not a commenter's costs far less
        found = extract_metainfo(tree, AUTHOR_XPATHS, len_limit=120)
        found = normalize_authors(None, found) if found else None
        found = found if found and _outside_comments(tree, found.split(";")[0].strip()) else None
        author = clean_author(found, site_names, url)
    return ExtractedArticle(
        canonical_url=canonical_url(tree, url, metadata.url),
        text=text,
        title=title,
        author=author,
        published_at=date.published_at,
        site_name=metadata.sitename or None,
        language=page_language(tree),
        image_url=_absolute_http(url, metadata.image),
        summary=entry.get("summary") or metadata.description or None,
        date_basis=date.basis,
        date_reasons=date.reasons,
    )


def _absolute_http(base: str, href: str | None) -> str | None:
    if not href:
        return None
    absolute = urljoin(base, href.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None
