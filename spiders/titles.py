"""Headlines, not page titles: the site name and separators cut from a title, and the heading that is the headline."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

from lxml.html import HtmlElement

WORDS = re.compile(r"\w+")
# Separators between a headline and a site or section name; only when spaced, so "Covid-19" and "A|B" stay whole.
SEPARATOR = re.compile(r"\s+(?:[|\u2013\u2014\u2022\u00b7\u00bb\u203a~/]|-{1,2}|::)\s+")
# The comment section's own headings ("15 Replies to ...") quote the headline.
COMMENTS = re.compile(r"\bcomments?(?:-area|-list)?\b|\brespond\b", re.I)
# What a heading may carry glued to the headline its titles declare: a byline or dateline after it, a date or a
# section label before it ("Posted on July 1, 2024 by Jo", "Dec 18 2025", "Blog:").
MONTH_WORDS = frozenset(
    {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "january"}
    | {"february", "march", "april", "june", "july", "august", "september", "october", "november", "december"}
)
BYLINE_OPENERS = frozenset({"posted", "published", "updated", "written", "last"})
DATELINE_WORDS = MONTH_WORDS | BYLINE_OPENERS | {"by", "on", "am", "pm", "st", "nd", "rd", "th"}
LABEL_WORDS = frozenset({"blog", "news", "opinion", "analysis", "review", "podcast", "video", "update", "editorial"})
# Control characters no text holds: the middle bytes of UTF-8 read as Latin-1.
C1_CONTROLS = re.compile("[\u0080-\u009f]")
PIPE_TAIL = re.compile(r"\s\|\s+[^|]+$")
SITE_COLON = re.compile(r"^(?P<site>[^:]{2,60}):\s+(?P<rest>.+)$")
# A trailing part this short is a site or section name ("... | Opinion", "... - Acme Trust"), not part of the headline.
SITE_PART_MAX_WORDS = 4
GENERIC_SITE_WORDS = frozenset(
    {"blog", "news", "home", "magazine", "online", "official", "site", "website", "com", "org", "net", "io", "ai"}
)
# A part holding the site's name with this many more words is a headline that mentions the site, not its name.
SITE_NAME_EXTRA_WORDS = 2
HEADING_MAX_WORDS = 40
BLOCK_TAGS = frozenset({"div", "p", "section", "header", "li", "ul", "ol", "table", "tr", "td"})
# The JSON-LD headline, read straight from the script text: the article's own name for itself, often the h1's words
# where og:title and <title> carry the SEO wording.
JSON_LD_HEADLINE = re.compile(r'"headline"\s*:\s*"((?:[^"\\]|\\.){1,400})"')
HEADLINE_MIN_WORDS = 3
# A slug of fewer words ("pet-insurance-cost") names a topic, not one wording; words compare by their first letters,
# so that "toddlers" and "toddler" are one word. A slug sides with the title when it spells half its words more.
SLUG_MIN_WORDS = 4
STEM_LETTERS = 5
SLUG_MARGIN = 0.5


def _words(text: str | None) -> list[str]:
    return WORDS.findall((text or "").lower())


def _squashed(text: str | None) -> str:
    return "".join(_words(text))


def _is_site_part(part: str, site_names: list[str], host_words: set[str]) -> bool:
    """Whether a title segment names the site: its site name, its domain, or its domain's words."""
    squashed = _squashed(part)
    if not squashed:
        return True
    part_words = len(_words(part))
    for name in site_names:
        name_squashed = _squashed(name)
        if not name_squashed:
            continue
        # "Docker Inc" names the site Docker, "Docker Hardened Images: Security Validated" only mentions it
        holds_name = name_squashed in squashed and part_words <= len(_words(name)) + SITE_NAME_EXTRA_WORDS
        # "Motley Fool" names "The Motley Fool"; "restaurant" does not name "Definition of restaurant"
        part_of_name = squashed in name_squashed and part_words * 2 >= len(_words(name))
        if squashed == name_squashed or part_of_name or holds_name:
            return True
    words = set(_words(part)) - GENERIC_SITE_WORDS
    if host_words and squashed in host_words:
        return True
    return bool(words) and all(word in host_words or any(word in host for host in host_words) for word in words)


def _host_words(url: str | None) -> set[str]:
    host = (urlsplit(url or "").hostname or "").lower()
    labels = [label for label in host.split(".") if label not in ("www", "com", "org", "net", "co", "uk", "io", "gov")]
    return {label.replace("-", "") for label in labels if len(label) > 2} | set(
        word for label in labels for word in label.split("-") if len(word) > 2
    )


def clean_title(title: str | None, site_names: list[str] | tuple[str, ...] = (), url: str | None = None) -> str | None:
    """A page title without the site name and its separator: "Latest news | Fundraising Network" -> "Latest news"."""
    if not title:
        return None
    title = " ".join(title.split())
    names = [name for name in site_names if name and _squashed(name) != _squashed(title)]
    host_words = _host_words(url)
    parts = SEPARATOR.split(title)
    if len(parts) > 1:
        kept = _headline_run([part for part in parts if not _is_site_part(part, names, host_words)], parts)
        if not kept:
            kept = parts[:1]
        while len(kept) > 1 and len(kept[-1].split()) <= SITE_PART_MAX_WORDS < len(" ".join(kept[:-1]).split()):
            kept = kept[:-1]  # "Headline | Section | Site": the short tails are section and site names
        if (
            len(kept) == 2
            and PIPE_TAIL.search(title)
            and len(kept[0].split()) <= SITE_PART_MAX_WORDS < len(kept[1].split())
        ):
            kept = kept[1:]  # "Site | Headline"
        title = _rejoin(title, parts, kept)
    match = SITE_COLON.match(title)
    if match and (names or host_words) and _is_site_part(match.group("site"), names, host_words):
        title = match.group("rest")
    return title.strip() or None


def _headline_run(kept: list[str], parts: list[str]) -> list[str]:
    """The kept parts that stand together around the longest one: "Headline - Site - Tagline" keeps the headline."""
    if len(kept) < 2:
        return kept
    positions = [parts.index(part) for part in kept]
    longest = max(range(len(kept)), key=lambda i: len(kept[i]))
    start = end = longest
    while start > 0 and positions[start - 1] == positions[start] - 1:
        start -= 1
    while end < len(kept) - 1 and positions[end + 1] == positions[end] + 1:
        end += 1
    return kept[start : end + 1]


def _rejoin(title: str, parts: list[str], kept: list[str]) -> str:
    """The kept parts as they stood in the title, separators between them included."""
    if len(kept) == 1:
        return kept[0]
    start, end = title.find(kept[0]), title.rfind(kept[-1])
    return title[start : end + len(kept[-1])] if 0 <= start <= end else kept[0]


def is_site_title(title: str | None, site_names: list[str] | tuple[str, ...] = (), url: str | None = None) -> bool:
    """Whether a title is only the site's name (a home page title), with nothing of a headline left."""
    return bool(title) and _is_site_part(title, [name for name in site_names if name], _host_words(url))


def in_head(tree: HtmlElement, path: str) -> Iterator[HtmlElement]:
    """The elements at ``path`` in the page's <head>: found from the root, not by searching the whole tree (each
    whole-tree search costs a page about 0.15 ms)."""
    head = tree.getroottree().getroot().find("head")
    return head.iterfind(path) if head is not None else iter(())


def json_ld_blocks(tree: HtmlElement) -> list[str]:
    """The text of each JSON-LD block of the page, read once for its headlines and its dates."""
    return [script.text or "" for script in tree.iterfind(".//script[@type='application/ld+json']")]


def json_ld_headlines(blocks: list[str]) -> list[str]:
    """The headline properties of the page's JSON-LD blocks, decoded, once each."""
    found: list[str] = []
    for block in blocks:
        for match in JSON_LD_HEADLINE.finditer(block):
            try:
                text = json.loads(f'"{match.group(1)}"')
            except ValueError:
                continue
            text = " ".join(html.unescape(text).split())
            if text and text not in found:
                found.append(text)
    return found


def _in_chrome(heading: HtmlElement) -> bool:
    """Whether a heading sits in the site's navigation, header, footer or sidebar rather than in the article.

    Tags, not class names: "entry-header", "hero-header" or "content-sidebar-wrap" hold the article as often as not.
    """
    in_header = False
    for ancestor in heading.iterancestors():
        tag = ancestor.tag
        # inside the article or main element the heading is the content's, whatever wraps them (even a nav, in
        # pages whose unclosed tags put everything inside the menu)
        if tag in ("article", "main", "body"):
            return tag == "body" and in_header
        if tag in ("nav", "footer", "aside") or COMMENTS.search(
            f"{ancestor.get('class', '')} {ancestor.get('id', '')}"
        ):
            return True
        # a <header> is the site's when it holds the menu; a bare one above the text is the article's
        in_header = in_header or (tag == "header" and ancestor.find(".//nav") is not None)
    return False


class Heading(NamedTuple):
    text: str
    lines: list[str]  # as broken by <br> and block children: "Get the stack" over "Klatch Coffee"


def _lines(element: HtmlElement, out: list[str]) -> None:
    """An element's text into out, a line break before and after a <br> or a block element."""
    if isinstance(element.tag, str):
        broken = element.tag == "br" or element.tag in BLOCK_TAGS or _glued_on(out, element.text)
        if broken:
            out.append("\n")
        out.append(element.text or "")
        for child in element:
            _lines(child, out)
            out.append(child.tail or "")
        if broken:
            out.append("\n")


def _glued_on(out: list[str], text: str | None) -> bool:
    """Whether an element's text starts a capital word against a lowercase letter: "AlternativesTop", a block span."""
    before = next((piece for piece in reversed(out) if piece), "")
    return bool(text) and text[0].isupper() and before[-1:].islower()


def _headings(tree: HtmlElement, tag: str) -> list[Heading]:
    found = []
    for element in tree.iter(tag):
        if _in_chrome(element):
            continue
        pieces: list[str] = [element.text or ""]
        for child in element:
            _lines(child, pieces)
            pieces.append(child.tail or "")
        lines = [" ".join(line.split()) for line in "".join(pieces).split("\n")]
        lines = [line for line in lines if line]
        text = " ".join(lines)
        # a heading that ends in a colon leads into something else ("A message from our founder:")
        if text and len(text.split()) <= HEADING_MAX_WORDS and not text.endswith(":"):
            found.append(Heading(text, lines))
    return found


def _similarity(first: str, second: str) -> float:
    """Words the two texts share, over the longer one's words: 1.0 when they are the same words."""
    a, b = _words(first), _words(second)
    if not a or not b:
        return 0.0
    shared = sum(word in set(b) for word in a)
    return shared / max(len(a), len(b))


def _declares(title: str, heading: str) -> bool:
    """Whether a declared title starts with the heading or holds it as one part: "Book Reviews | The Centre"."""
    heading_words = _words(heading)
    if not heading_words:
        return False
    if _words(title)[: len(heading_words)] == heading_words:
        return True
    return any(_words(part) == heading_words for part in SEPARATOR.split(title))


def _agreement(heading: str, titles: list[str]) -> float:
    return max((1.0 if _declares(title, heading) else _similarity(heading, title) for title in titles), default=0.0)


def _heading_headline(heading: str, site_names: list[str], url: str | None) -> str:
    """A heading without a part naming the site; unlike a <title>, a visible heading's short last part is its own.

    Unless the part stands after a pipe: a pipe in a visible heading is a <title> template's, and so is what follows.
    """
    parts = SEPARATOR.split(heading)
    if len(parts) < 2:
        return heading
    names = [name for name in site_names if name]
    host_words = _host_words(url)
    kept = [part for part in parts if not (_squashed(part) in host_words or _is_site_part(part, names, set()))]
    while len(kept) > 1 and PIPE_TAIL.search(heading) and len(kept[-1].split()) <= SITE_PART_MAX_WORDS:
        kept = kept[:-1]  # "Headline | Section | Site"
    return _rejoin(heading, parts, kept) if kept else heading


def headline(tree: HtmlElement, page_titles: list[str], site_names: list[str], url: str | None) -> str | None:
    """The headline: the page's main heading when it agrees with the titles it declares, else the cleaned title."""
    found = _headline(tree, page_titles, site_names, url)
    return _undouble_encoded(found) if found else found


def _undouble_encoded(text: str) -> str:
    """Text a CMS stored as UTF-8 read as Latin-1 ("Investor\u00e2\u0080\u0099s"), read again as UTF-8."""
    if not C1_CONTROLS.search(text):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _headline(tree: HtmlElement, page_titles: list[str], site_names: list[str], url: str | None) -> str | None:
    site_names = site_names + _names_beside_titles([title for title in page_titles if title])
    cleaned = [title for title in (clean_title(t, site_names, url) for t in page_titles if t) if title]
    cleaned = [title for title in cleaned if not is_site_title(title, site_names, url)] or cleaned
    all_h1s = _headings(tree, "h1")
    h1s = _distinct(heading for heading in all_h1s if not is_site_title(heading.text, site_names, url))
    # the site's name as its own heading, opening a title with no separator: "davidbau.com Vibe Coding"
    for name in {heading.text for heading in all_h1s} - {heading.text for heading in h1s}:
        cleaned = [_without_prefix(title, name) for title in cleaned]
    headings = h1s or (_headings(tree, "h2")[:3] if tree.find(".//h1") is None else [])
    declared = [title for title in page_titles if title] + cleaned
    best, best_score, best_lines = None, 0.0, 1
    for heading in headings:
        if is_site_title(heading.text, site_names, url):
            continue
        score = _agreement(heading.text, declared)
        if score > best_score:
            best, best_score, best_lines = heading.text, score, len(heading.lines)
        # a kicker or a subtitle on a line of its own: the line the titles declare is the headline
        for line in heading.lines if len(heading.lines) > 1 else ():
            if best_score < 1.0 and any(_declares(title, line) for title in declared):
                best, best_score, best_lines = line, 1.0, 1
    # a heading in lines of which the titles declare none is headline and kicker or subtitle in some order: the
    # declared title says which words are the headline
    if best is not None and best_score < 1.0 and best_lines > 1 and cleaned:
        return cleaned[0]
    shown = best or (h1s[0].text if len(h1s) == 1 else None)
    if shown and best_score < 1.0 and cleaned and _gives_way_to_title(shown, cleaned[0], url):
        return cleaned[0]
    # an h2 is not the page's main heading: only the one the titles declare stands for the headline
    if best is not None and (best_score >= 0.6 if h1s else best_score >= 1.0):
        return _without_glued_parts(best, cleaned) or _heading_headline(best, site_names, url)
    # one main heading that reads like a headline is the headline, even when the SEO title says otherwise
    if len(h1s) == 1 and len(h1s[0].text.split()) >= HEADLINE_MIN_WORDS:
        return _without_glued_parts(h1s[0].text, cleaned) or _heading_headline(h1s[0].text, site_names, url)
    if cleaned:
        return cleaned[0]
    # nothing declared to agree with: the first heading long enough to be a headline, not a score or a label
    worded = [heading for heading in headings if len(heading.text.split()) >= HEADLINE_MIN_WORDS] or headings
    return clean_title(worded[0].text, site_names, url) if worded else None


def _in_capitals(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return len(letters) > 1 and all(char.isupper() for char in letters)


def _gives_way_to_title(heading: str, title: str, url: str | None) -> bool:
    """Whether the title words the headline better than a heading no title declares word for word: a heading in
    capitals, one the URL's slug does not spell, or one with characters lost to an encoding."""
    return _shouted(heading, title) or _slug_spells(url, title, heading) or _lost_characters(heading, title)


def _shouted(heading: str, title: str) -> bool:
    """Whether a heading is set in capitals and the title is not: display type, a kicker or the headline shouted,
    where the declared title has the headline's words as well as its case."""
    return _in_capitals(heading) and not _in_capitals(title)


def _lost_characters(heading: str, title: str) -> bool:
    """Whether the heading is the title with characters an encoding lost shown as "?": "Beginner? Guide"."""
    if "?" not in heading:
        return False
    pattern = ".{1,2}".join(re.escape(piece) for piece in heading.split("?"))
    return re.fullmatch(pattern, title, re.IGNORECASE) is not None


def _stems(words: Iterable[str]) -> set[str]:
    return {word[:STEM_LETTERS] for word in words}


def _slug_spells(url: str | None, title: str, heading: str) -> bool:
    """Whether the URL's last path segment, named after the headline when the page was made, spells the title's
    words and not the heading's: the heading is then a tagline, a quote or a kicker set as the h1."""
    segment = urlsplit(url or "").path.rstrip("/").rsplit("/", 1)[-1]
    slug = _stems(WORDS.findall(segment.rsplit(".", 1)[0].lower()))
    if len(slug) < SLUG_MIN_WORDS:
        return False
    title_share = len(slug & _stems(_words(title))) / len(slug)
    heading_share = len(slug & _stems(_words(heading))) / len(slug)
    return title_share - heading_share >= SLUG_MARGIN


def _without_prefix(title: str, prefix: str) -> str:
    if len(title) > len(prefix) + 1 and title.lower().startswith(prefix.lower() + " "):
        return title[len(prefix) :].lstrip(" :|-\u2013\u2014")
    return title


def _names_beside_titles(titles: list[str]) -> list[str]:
    """What one declared title adds to another beside a separator or colon: "Acme Blog: Headline" next to "Headline"."""
    names: list[str] = []
    for title in titles:
        colon = SITE_COLON.match(title)
        splits = [SEPARATOR.split(title)] + ([[colon.group("site"), colon.group("rest")]] if colon else [])
        for other in titles:
            other_words = _words(other)
            if other_words == _words(title):
                continue
            for parts in splits:
                if any(_words(part) == other_words for part in parts):
                    names += [
                        part
                        for part in parts
                        if _words(part) != other_words and len(part.split()) <= SITE_PART_MAX_WORDS
                    ]
    return names


def _without_glued_parts(heading: str, titles: list[str]) -> str | None:
    """The declared title a heading holds with a byline, a date or a section label glued on, if it is one."""
    heading_words = _words(heading)
    for title in titles:
        words = _words(title)
        if not words or len(words) >= len(heading_words):
            continue
        if heading_words[: len(words)] == words:
            extra = heading_words[len(words) :]
            # "on" and "by" go on many a headline; a byline or dateline after them has a date in it
            if extra[0] in BYLINE_OPENERS or (extra[0] in ("by", "on") and any(word.isdigit() for word in extra)):
                return title
        elif heading_words[-len(words) :] == words:
            extra = heading_words[: -len(words)]
            dateline = all(word in DATELINE_WORDS or word.isdigit() for word in extra) and not all(
                word.isdigit() for word in extra
            )
            if dateline or (len(extra) == 1 and extra[0] in LABEL_WORDS):
                return title
    return None


def _distinct(headings: Iterable[Heading]) -> list[Heading]:
    """Headings once each: pages repeat the headline for mobile and desktop, sometimes in another case."""
    seen: set[str] = set()
    kept = []
    for heading in headings:
        key = _squashed(heading.text)
        if key not in seen:
            seen.add(key)
            kept.append(heading)
    return kept


BYLINE_PREFIX = re.compile(r"^\s*(?:(?:written|posted|submitted|authored|words|reviewed)\s+by|by|author)\b[:\s]*", re.I)
# Words stuck to a name by markup without spaces: "Reyan PerumalPublished", "Isaiah SheltonFollow".
GLUED_TAIL = re.compile(
    r"(?<=[a-z])(?:Published|Updated|Posted|Follow|Posted on|January|February|March|April|May|June|July"
    r"|August|September|October|November|December)\b.*$"
)
JOB_WORDS = re.compile(
    r"\b(editor|writer|reporter|correspondent|contributor|columnist|journalist|expert|director|manager|ceo|cto|cfo"
    r"|founder|officer|president|head of|staff|producer|analyst|specialist|strategist|consultant|intern|team lead)\b",
    re.I,
)
CREDENTIAL = re.compile(r"^(?:[A-Z][A-Za-z]?\.?){1,3}[A-Z]?(?:-[A-Z]+)?(?:\s+\d+)?$|^(?:Ph\.?D|M\.?D|Jr|Sr)\.?$")
AUTHOR_SEPARATORS = re.compile(r"\s*;\s*|\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+")


def _one_author(name: str) -> str | None:
    name = GLUED_TAIL.sub("", BYLINE_PREFIX.sub("", " ".join(name.split()))).strip(" ,|-\u2013\u2014")
    return name or None


def author_names(author: str | None, site_names: list[str] | tuple[str, ...] = (), url: str | None = None) -> list[str]:
    """The names in an author string, without "By", job titles or the site's own name after the first name."""
    if not author:
        return []
    names: list[str] = []
    for part in AUTHOR_SEPARATORS.split(author.strip()):
        name = _one_author(part)
        if not name or (JOB_WORDS.search(name) and names) or "@" in name:
            continue  # "Jo Bloggs, Senior Editor": the part after the name is a job title
        if names and CREDENTIAL.match(name):
            names[-1] += f", {name}"  # "Dylan Bailey, MS, RD": letters after a name are part of it
            continue
        if names and is_site_name(name, site_names, url):
            continue
        words = set(_words(name))
        if any(words <= set(_words(other)) or set(_words(other)) <= words for other in names):
            continue
        names.append(name)
    return names


def is_site_name(name: str, site_names: list[str] | tuple[str, ...] = (), url: str | None = None) -> bool:
    """Whether a declared author is only the site's own name or domain ("USA TODAY", "Clemson News")."""
    return is_site_title(name, site_names, url)


def join_names(names: list[str]) -> str | None:
    if not names:
        return None
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def clean_author(
    author: str | None, site_names: list[str] | tuple[str, ...] = (), url: str | None = None
) -> str | None:
    """Author names without "By", job titles or the site's own name: "By Jo Bloggs, Senior Editor" -> "Jo Bloggs"."""
    return join_names(author_names(author, site_names, url))


# Words of a feed or page title that name a section, not a site: "Latest news", "Blog", "All posts".
SECTION_WORDS = frozenset(
    {
        "latest",
        "news",
        "blog",
        "feed",
        "rss",
        "atom",
        "home",
        "homepage",
        "articles",
        "article",
        "posts",
        "post",
        "all",
        "updates",
        "stories",
        "the",
        "our",
        "and",
        "from",
        "entries",
        "comments",
        "on",
        "page",
        "recent",
        "welcome",
        "to",
    }
)


def source_name(title: str | None, url: str | None = None) -> str | None:
    """The site's name in a feed or page title: "Latest news | Fundraising Network" -> "Fundraising Network"."""
    if not title or not title.strip():
        return None
    parts = [part.strip() for part in SEPARATOR.split(" ".join(title.split())) if part.strip()]
    host_words = _host_words(url)
    for part in parts:
        if _is_site_part(part, [], host_words) and not set(_words(part)) <= SECTION_WORDS:
            return part
    named = [part for part in parts if not set(_words(part)) <= SECTION_WORDS]
    return (named[-1] if len(parts) > 1 and named else parts[0]) if parts else None
