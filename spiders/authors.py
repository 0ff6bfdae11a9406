"""The article's author: the names a page declares weighed against the byline it prints."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from signpost.spiders.titles import author_names, is_site_name, join_names

WORDS = re.compile(r"\w+")
# Lowercased openings of a printed byline; only text nodes are tested, which keeps the search cheap on big pages.
BY_OPENINGS = ("by ", "by:", "written by", "posted by", "words by", "authored by")
# A text node's first characters, lowercased as far as the openings need ("by" covers "by " and "by:").
_NODE_OPENING = "translate(substring(normalize-space(.), 1, 12), 'ABDEIOPRSTWY', 'abdeioprstwy')"
PRINTED_BYLINE_XPATH = "//body//text()[not(ancestor::script or ancestor::style or ancestor::option)][{}]".format(
    " or ".join(
        f"starts-with({_NODE_OPENING}, '{opening}')"
        for opening in ("by", "written by", "posted by", "words by", "authored by")
    )
)
PRINTED_BYLINE_MAX_WORDS = 12
PRINTED_BYLINE_MAX_HITS = 10
# Menus and forms print "By Industry", "By Role", "By submitting, you agree": no bylines there.
CHROME_TAGS = frozenset({"nav", "aside", "form", "select", "figure", "figcaption"})
CHROME_CLASSES = re.compile(r"\b(?:nav|menu|dropdown|breadcrumb|modal|caption)", re.I)
# class names are only trusted close by: page-wide wrappers carry "has-nav", "menu-open" and the like
CHROME_CLASS_DEPTH = 4


def printed_byline(tree: HtmlElement, name_in_byline) -> str | None:
    """The name in a short "By Jo Bloggs" line anywhere in the page, for bylines no class or rel marks.

    ``name_in_byline`` reads the name out of the line's text (None when it holds none).
    """
    for node in tree.xpath(PRINTED_BYLINE_XPATH)[:PRINTED_BYLINE_MAX_HITS]:
        element = node.getparent()
        if node.is_tail and element is not None:
            element = element.getparent()  # the text after an element belongs to that element's parent
        if element is None:
            continue
        # "<span>By</span> <a>Jo Bloggs</a>": the line is the element holding both
        while len(WORDS.findall(element.text_content())) <= 2 and element.getparent() is not None:
            element = element.getparent()
        line = " ".join(element.text_content().split())
        opening = line.lower()
        if not (opening in ("by", "by:") or opening.startswith(BY_OPENINGS)):
            continue  # "Byron ...", "Try it by printing ...": the line itself must open with the word "by"
        if len(line.split()) > PRINTED_BYLINE_MAX_WORDS or _in_chrome(element):
            continue
        name = name_in_byline(element)
        if name:
            return name
    return None


def choose_author(declared: str | None, printed: str | None, site_names: list[str], url: str | None) -> str | None:
    """The declared author unless the byline printed by the headline says better.

    Several declared names and a byline naming one of them: the byline's (the rest are editors, reviewers, the
    site). A declared author that is only the site's name gives way to a byline naming someone else.
    """
    declared_names = author_names(declared, site_names, url)
    printed_names = author_names(printed, site_names, url)
    if not declared_names:
        return join_names(printed_names)
    if not printed_names:
        return join_names(declared_names)
    if len(declared_names) > 1 and len(printed_names) == 1 and _among(printed_names[0], declared_names):
        return printed_names[0]
    if all(is_site_name(name, site_names, url) for name in declared_names) and not any(
        is_site_name(name, site_names, url) for name in printed_names
    ):
        return join_names(printed_names)
    return join_names(declared_names)


def _among(name: str, names: list[str]) -> bool:
    words = WORDS.findall(name.lower())
    return any(WORDS.findall(other.lower()) == words for other in names)


def _in_chrome(element: HtmlElement) -> bool:
    ancestors = [element, *element.iterancestors()]
    if any(a.tag in CHROME_TAGS for a in ancestors):
        return True
    # a footer inside an article is the article's own ("Posted by Jo Bloggs in ..."), the page's footer is not
    if any(a.tag == "footer" for a in ancestors) and not any(a.tag == "article" for a in ancestors):
        return True
    return any(CHROME_CLASSES.search(f"{a.get('class', '')} {a.get('id', '')}") for a in ancestors[:CHROME_CLASS_DEPTH])
