"""Finding the article links and the next-page links on a section or listing page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import lxml.etree
import lxml.html

from signpost.spiders.urls import canonicalize_url, http_url

# Regions of a page whose links are site furniture, not content.
BOILERPLATE_TAGS = ("nav", "header", "footer", "aside", "form", "script", "style", "noscript", "template")
BOILERPLATE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"})
BOILERPLATE_WORDS = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|footer|sidebar|breadcrumbs?|share|sharing|social|"
    r"comments?|widget|cookie|banner|masthead|skip-link|subscribe|newsletter|pagination|pager)(?:$|[\s_-])",
    re.IGNORECASE,
)
# Path segments of pages that list or manage things rather than being an article.
NON_ARTICLE_SEGMENTS = frozenset(
    {
        "tag", "tags", "category", "categories", "topic", "topics", "author", "authors", "login", "logout",
        "signin", "sign-in", "signup", "sign-up", "register", "account", "user", "users", "profile", "search",
        "share", "feed", "rss", "atom", "subscribe", "unsubscribe", "contact", "about", "privacy", "terms",
        "cookies", "cookie-policy", "wp-admin", "wp-login.php", "cart", "checkout", "page", "archive", "archives",
        "cdn-cgi", "static", "assets", "media", "uploads", "wp-content", "wp-json",
    }
)  # fmt: skip
ASSET_EXTENSIONS = frozenset(
    {
        "jpg", "jpeg", "png", "gif", "webp", "svg", "ico", "bmp", "tif", "tiff", "avif", "css", "js", "json",
        "xml", "rss", "zip", "gz", "tar", "rar", "7z", "mp3", "mp4", "m4a", "wav", "ogg", "webm", "mov", "avi",
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "csv", "txt", "woff", "woff2", "ttf", "eot",
    }
)  # fmt: skip
SHARE_HOSTS = ("facebook.com", "twitter.com", "x.com", "linkedin.com", "reddit.com", "pinterest.com", "t.me")
# "Next", "Older posts", or an arrow (\u203a \u00bb \u2192) alone or after "next".
NEXT_TEXTS = re.compile(
    r"^\s*(?:next(?:\s+page)?|older(?:\s+(?:posts|entries|articles))?|more\s+(?:posts|articles)|load\s+more|"
    r"[\u203a\u00bb\u2192]|next\s*[\u203a\u00bb\u2192])\s*$",
    re.IGNORECASE,
)
PAGE_IN_PATH = re.compile(r"/page/(\d+)/?$")
PAGE_PARAMETERS = ("page", "paged", "p", "pg")
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
DATE_IN_PATH = re.compile(r"/(?:19|20)\d\d/(?:[01]?\d/)?")


@dataclass
class ListingLinks:
    article_links: list[str] = field(default_factory=list)
    next_pages: list[str] = field(default_factory=list)


def listing_links(
    html: bytes | str, page_url: str, allow: list[str], deny: list[str], same_site: bool = True
) -> ListingLinks:
    """Likely article links and pagination links of a listing page, canonical, deduplicated, in page order.

    Without allow patterns a link must look like an article (a slug, an id or a date in its path);
    with them, matching an allow pattern is enough. Deny patterns and the structural exclusions
    (other sites, assets, navigation and footer regions, tag/author/login pages) always apply.
    """
    document = _parse_html(html)
    if document is None:
        return ListingLinks()
    base_url = http_url(_base_href(document), page_url) or page_url
    allow_patterns = [re.compile(pattern) for pattern in allow]
    deny_patterns = [re.compile(pattern) for pattern in deny]
    page = canonicalize_url(page_url)

    next_pages = _next_pages(document, base_url, page, same_site)
    _drop_boilerplate(document)
    content = _main_content(document)

    article_links: list[str] = []
    for anchor in content.iter("a"):
        href = anchor.get("href")
        if not href:
            continue
        url = _absolute(base_url, href)
        if url is None or url == page or url in article_links or url in next_pages:
            continue
        if not _acceptable(url, page, same_site) or any(pattern.search(url) for pattern in deny_patterns):
            continue
        if allow_patterns:
            if any(pattern.search(url) for pattern in allow_patterns):
                article_links.append(url)
        elif _looks_like_article(url, page):
            article_links.append(url)
    return ListingLinks(article_links, [url for url in next_pages if not any(p.search(url) for p in deny_patterns)])


def _parse_html(html: bytes | str) -> lxml.html.HtmlElement | None:
    # Control characters survive lxml's HTML parser but make it refuse the text when a region is dropped.
    html = CONTROL_BYTES.sub(b"", html) if isinstance(html, bytes) else CONTROL_TEXT.sub("", html)
    try:
        return lxml.html.document_fromstring(html)
    except ValueError:
        # lxml refuses a str that carries an XML encoding declaration; bytes it can read.
        if isinstance(html, str):
            return _parse_html(html.encode("utf-8"))
        return None
    except (lxml.etree.LxmlError, LookupError):
        return None


def _base_href(document: lxml.html.HtmlElement) -> str | None:
    base = document.find(".//base[@href]")
    return base.get("href") if base is not None else None


def _absolute(base_url: str, href: str) -> str | None:
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    url = http_url(href, base_url)
    return canonicalize_url(url) if url else None


def _same_site(host: str, other: str) -> bool:
    return host.removeprefix("www.") == other.removeprefix("www.")


def _acceptable(url: str, page: str, same_site: bool) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if same_site and not _same_site(host, urlsplit(page).hostname or ""):
        return False
    if any(host == share or host.endswith("." + share) for share in SHARE_HOSTS):
        return False
    last = parts.path.rstrip("/").rpartition("/")[2]
    if "." in last and last.rpartition(".")[2].lower() in ASSET_EXTENSIONS:
        return False
    segments = [segment.lower() for segment in parts.path.split("/") if segment]
    if any(segment in NON_ARTICLE_SEGMENTS for segment in segments):
        return False
    query_keys = {key.lower() for key, _ in parse_qsl(parts.query)}
    return not query_keys & {"share", "replytocom", "action", "s", "q", "login", *PAGE_PARAMETERS}


def _looks_like_article(url: str, page: str) -> bool:
    path = urlsplit(url).path
    page_path = urlsplit(page).path
    # The listing itself, its parents and the home page are not articles.
    if page_path.startswith(path.rstrip("/") + "/") or path.strip("/") == "":
        return False
    last = path.rstrip("/").rpartition("/")[2]
    stem = re.sub(r"\.(?:html?|php|aspx?)$", "", last, flags=re.IGNORECASE)
    words = [word for word in re.split(r"[-_]+", stem) if word]
    if len(words) >= 3 and len(stem) >= 12:
        return True
    if re.fullmatch(r"\d{4,}", stem) or re.search(r"[-_]\d{4,}$", stem):
        return True
    depth = len([segment for segment in path.split("/") if segment])
    return bool(DATE_IN_PATH.search(path) and depth >= 3 and not stem.isdigit())


def _drop_boilerplate(document: lxml.html.HtmlElement) -> None:
    doomed = []
    for element in document.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body", "main", "article"):
            continue
        by_role = element.get("role", "").lower() in BOILERPLATE_ROLES
        by_name = BOILERPLATE_WORDS.search(f"{element.get('class', '')} {element.get('id', '')}")
        if element.tag in BOILERPLATE_TAGS or by_role or by_name:
            doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()


def _main_content(document: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    for path in ("//main", "//*[@role='main']", "//*[@id='content' or @id='main' or @id='main-content']"):
        found = document.xpath(path)
        if found and found[0].xpath(".//a[@href]"):
            return found[0]
    body = document.find("body")
    return body if body is not None else document


def _next_pages(document: lxml.html.HtmlElement, base_url: str, page: str, same_site: bool) -> list[str]:
    current = _page_number(page)
    rel_next: list[str] = []
    by_text: list[str] = []
    by_number: list[str] = []
    for element in document.iter("a", "link"):
        href = element.get("href")
        url = _absolute(base_url, href) if href else None
        if url is None or url == page:
            continue
        if same_site and not _same_site(urlsplit(url).hostname or "", urlsplit(page).hostname or ""):
            continue
        rels = (element.get("rel") or "").lower().split()
        number = _page_number(url)
        if "next" in rels:
            rel_next.append(url)
        elif element.tag == "a" and NEXT_TEXTS.match(element.text_content() or element.get("aria-label", "")):
            by_text.append(url)
        elif element.tag == "a" and number == current + 1:
            by_number.append(url)
    ordered: list[str] = []
    for url in rel_next + by_text + by_number:
        if url not in ordered:
            ordered.append(url)
    return ordered


def _page_number(url: str) -> int:
    parts = urlsplit(url)
    match = PAGE_IN_PATH.search(parts.path)
    if match:
        return int(match.group(1))
    for key, value in parse_qsl(parts.query):
        if key.lower() in PAGE_PARAMETERS and value.isdigit():
            return int(value)
    return 1


def section_links(html: bytes | str, page_url: str, limit: int = 4) -> list[str]:
    """Same-site section pages named in the page's navigation (/news/, /blog/, /insights/), in page order.

    A home page often shows only a few recent articles; the section it links to lists them all, with pages.
    """
    document = _parse_html(html)
    if document is None:
        return []
    base = http_url(_base_href(document), page_url) or page_url
    found: list[str] = []
    for anchor in document.xpath("//nav//a[@href] | //header//a[@href] | //*[@role='navigation']//a[@href]"):
        url = _absolute(base, anchor.get("href", ""))
        if url is None or not _acceptable(url, page_url, same_site=True):
            continue
        segments = [segment for segment in urlsplit(url).path.split("/") if segment]
        if len(segments) == 1 and "." not in segments[0] and url not in found and url != canonicalize_url(page_url):
            found.append(url)
    return found[:limit]
