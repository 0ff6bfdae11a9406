"""Headlines, not page titles: the site name and separators cut from a title, and the heading that is the headline."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml.html import HtmlElement

WORDS = re.compile(r"\w+")
# Separators between a headline and a site or section name; only when spaced, so "Covid-19" and "A|B" stay whole.
SEPARATOR = re.compile(r"\s+(?:[|\u2013\u2014\u2022\u00b7\u00bb\u203a~/]|-{1,2}|::)\s+")
SITE_COLON = re.compile(r"^(?P<site>[^:]{2,60}):\s+(?P<rest>.+)$")
# A trailing part this short is a site or section name ("... | Opinion", "... - Acme Trust"), not part of the headline.
SITE_PART_MAX_WORDS = 4
GENERIC_SITE_WORDS = frozenset({"blog", "news", "home", "magazine", "online", "official", "site", "website"})
HEADING_MAX_WORDS = 40
HEADLINE_MIN_WORDS = 3
CHROME_ANCESTORS = re.compile(
    r"\b(nav|menu|header|footer|sidebar|breadcrumb|masthead|site-title|logo|widget|modal)", re.I
)


def _words(text: str | None) -> list[str]:
    return WORDS.findall((text or "").lower())


def _squashed(text: str | None) -> str:
    return "".join(_words(text))


def _is_site_part(part: str, site_names: list[str], host_words: set[str]) -> bool:
    """Whether a title segment names the site: its site name, its domain, or its domain's words."""
    squashed = _squashed(part)
    if not squashed:
        return True
    for name in site_names:
        name_squashed = _squashed(name)
        if name_squashed and (squashed == name_squashed or squashed in name_squashed or name_squashed in squashed):
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
        elif len(kept) == len(parts) and len(parts[-1].split()) <= SITE_PART_MAX_WORDS < len(
            " ".join(parts[:-1]).split()
        ):
            kept = parts[:-1]  # "Headline | Short Name": the short tail is a site or section name
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


def _heading_texts(tree: HtmlElement, tag: str) -> list[str]:
    texts = []
    for heading in tree.iter(tag):
        if any(
            ancestor.tag in ("nav", "header", "footer", "aside")
            or CHROME_ANCESTORS.search(f"{ancestor.get('class', '')} {ancestor.get('id', '')}")
            for ancestor in heading.iterancestors()
            if ancestor.tag not in ("body", "html")
        ):
            continue
        text = " ".join(heading.text_content().split())
        if text and len(text.split()) <= HEADING_MAX_WORDS:
            texts.append(text)
    return texts


def _similarity(first: str, second: str) -> float:
    """Words the two texts share, over the longer one's words: 1.0 when they are the same words."""
    a, b = _words(first), _words(second)
    if not a or not b:
        return 0.0
    shared = sum(word in set(b) for word in a)
    return shared / max(len(a), len(b))


def headline(tree: HtmlElement, page_titles: list[str], site_names: list[str], url: str | None) -> str | None:
    """The headline: the page's main heading when it agrees with the titles it declares, else the cleaned title."""
    cleaned = [title for title in (clean_title(t, site_names, url) for t in page_titles if t) if title]
    cleaned = [title for title in cleaned if not is_site_title(title, site_names, url)] or cleaned
    headings = _heading_texts(tree, "h1") or (_heading_texts(tree, "h2")[:3] if tree.find(".//h1") is None else [])
    best, best_score = None, 0.0
    for heading in headings:
        if is_site_title(heading, site_names, url):
            continue
        score = max((_similarity(heading, title) for title in cleaned), default=0.0)
        if score > best_score:
            best, best_score = heading, score
    if best is not None and best_score >= 0.6:
        return clean_title(best, site_names, url)
    # one main heading that reads like a headline is the headline, even when the SEO title says otherwise
    h1s = [heading for heading in _heading_texts(tree, "h1") if not is_site_title(heading, site_names, url)]
    if len(h1s) == 1 and len(h1s[0].split()) >= HEADLINE_MIN_WORDS:
        return clean_title(h1s[0], site_names, url)
    if cleaned:
        return cleaned[0]
    return clean_title(headings[0], site_names, url) if headings else None


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
    return _is_site_part(name, [n for n in site_names if n], _host_words(url))


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
