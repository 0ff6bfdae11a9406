"""Page furniture shared by the templates: dates, bylines, share buttons, comments, related links, banners, footers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from urllib.parse import quote

from signpost.fixtureweb.vocabulary import charity_number


@dataclass
class ArticleView:
    """Everything a template needs to draw one article page."""

    site_name: str
    url: str
    title: str
    author: str
    published: datetime
    paragraphs: list[str]
    summary: str
    section: str
    related: list[tuple[str, str]] = field(default_factory=list)  # (title, url)
    comments: list[tuple[str, str, str]] = field(default_factory=list)  # (commenter, age, text)
    number: int = 0


@dataclass
class ListItem:
    title: str
    url: str
    author: str
    published: datetime
    summary: str


@dataclass
class SiteView:
    """The site-wide parts of every page: name, navigation, feed link, encoding."""

    name: str
    index: int
    base_url: str
    charset: str
    listing_path: str | None
    feed_link: str  # the <link rel="alternate"> tag, or "" when the site does not advertise its feed
    tagline: str

    def nav_links(self) -> list[tuple[str, str]]:
        links = [("Home", "/")]
        if self.listing_path:
            links.append(("News", self.listing_path))
        return [*links, ("About us", "/about/"), ("Contact", "/contact/")]


def long_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def us_date(moment: datetime) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}"


def numeric_date(moment: datetime) -> str:
    return f"{moment:%d/%m/%Y}"


def drupal_date(moment: datetime) -> str:
    return f"{moment:%a, %d/%m/%Y - %H:%M}"


def ordinal_date(moment: datetime) -> str:
    day = moment.day
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{moment:%A} {day}{suffix} {moment:%B %Y}"


def paragraphs_html(paragraphs: list[str], css_class: str = "") -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return "\n".join(f"<p{attribute}>{escape(paragraph, quote=False)}</p>" for paragraph in paragraphs)


def published_meta(view: ArticleView) -> str:
    return (
        f'<meta property="article:published_time" content="{view.published.isoformat()}">\n'
        f'<meta property="article:author" content="{escape(view.author)}">'
    )


def open_graph(view: ArticleView) -> str:
    return (
        f'<meta property="og:type" content="article">\n<meta property="og:title" content="{escape(view.title)}">\n'
        f'<meta property="og:url" content="{escape(view.url)}">\n'
        f'<meta property="og:description" content="{escape(view.summary)}">\n'
        f'<meta property="og:site_name" content="{escape(view.site_name)}">'
    )


def json_ld(view: ArticleView) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": view.title,
        "datePublished": view.published.isoformat(),
        "author": {"@type": "Person", "name": view.author},
        "publisher": {"@type": "Organization", "name": view.site_name},
        "mainEntityOfPage": view.url,
        "description": view.summary,
    }
    # "</" inside a script would end it early.
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{payload}</script>'


def share_links(view: ArticleView) -> list[tuple[str, str]]:
    url, title = quote(view.url, safe=""), quote(view.title, safe="")
    return [
        ("Share on X", f"https://twitter.com/intent/tweet?url={url}&text={title}"),
        ("Share on Facebook", f"https://www.facebook.com/sharer/sharer.php?u={url}"),
        ("Share on LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={url}"),
        ("Email", f"mailto:?subject={title}&body={url}"),
    ]


def share_list(view: ArticleView, list_class: str, item_class: str) -> str:
    items = "".join(
        f'<li class="{item_class}"><a href="{escape(href)}" rel="nofollow noopener" target="_blank">{label}</a></li>'
        for label, href in share_links(view)
    )
    return f'<ul class="{list_class}">{items}</ul>'


def related_list(view: ArticleView, list_class: str) -> str:
    items = "".join(f'<li><a href="{escape(url)}">{escape(title)}</a></li>' for title, url in view.related)
    return f'<ul class="{list_class}">{items}</ul>'


def comment_items(view: ArticleView, item_class: str, body_class: str) -> str:
    return "\n".join(
        f'<li class="{item_class}" id="comment-{view.number}-{n}"><div class="comment-author"><b class="fn">'
        f'{escape(who)}</b> <span class="says">says:</span></div><div class="comment-metadata">{age}</div>'
        f'<div class="{body_class}"><p>{escape(text)}</p></div>'
        f'<div class="reply"><a class="comment-reply-link" href="#respond">Reply</a></div></li>'
        for n, (who, age, text) in enumerate(view.comments, start=1)
    )


def comment_form(heading: str) -> str:
    return (
        f'<div id="respond" class="comment-respond"><h3 class="comment-reply-title">{heading}</h3>'
        '<form action="#respond" method="post" class="comment-form"><p class="comment-notes">Your email address '
        "will not be published. Required fields are marked *</p><p><label>Comment *</label>"
        '<textarea name="comment" rows="6"></textarea></p><p><label>Name *</label><input name="author"></p>'
        '<p><label>Email *</label><input name="email" type="email"></p>'
        '<p class="form-submit"><input type="submit" value="Post Comment"></p></form></div>'
    )


def cookie_banner(variant: int) -> str:
    banners = (
        '<div id="cookie-law-info-bar" class="cli-bar-container"><span>We use cookies on our website to give you '
        "the most relevant experience by remembering your preferences and repeat visits. By clicking "
        "“Accept”, you consent to the use of ALL the cookies.</span> "
        '<a role="button" class="cli_action_button" href="#">Accept</a> <a href="/privacy/">Read more</a></div>',
        '<div class="cc-window cc-banner" role="dialog" aria-label="cookieconsent"><span class="cc-message">This '
        'website uses cookies to ensure you get the best experience. <a class="cc-link" href="/privacy/">Learn '
        'more</a></span><div class="cc-compliance"><a class="cc-btn cc-dismiss">Got it!</a></div></div>',
        '<div id="sliding-popup" class="eu-cookie-compliance-banner"><div class="popup-content info"><div '
        'id="popup-text"><h2>We use cookies on this site to enhance your user experience</h2><p>By clicking any '
        "link on this page you are giving your consent for us to set cookies.</p></div><div id="
        '"popup-buttons"><button type="button" class="agree-button">OK, I agree</button><button type="button" '
        'class="decline-button">No, thanks</button></div></div></div>',
    )
    return banners[variant % len(banners)]


def newsletter_box(site: SiteView) -> str:
    return (
        f'<section class="newsletter-signup"><h3>Get the {escape(site.name)} newsletter</h3><p>Sector news, '
        "events and resources every Thursday. We'll never share your details.</p>"
        '<form action="#" method="post"><input type="email" name="email" placeholder="Your email">'
        '<button type="submit">Sign up</button></form></section>'
    )


def footer_text(site: SiteView) -> str:
    return (
        f"<p>&copy; 2026 {escape(site.name)}. Registered charity no. {charity_number(site.index)}. "
        f"Company limited by guarantee no. {site.index + 7_100_000}.</p>"
        "<p>Unit 4, The Old Chapel, Mill Lane, Leeds LS1 4AB. Tel: 0113 496 0000.</p>"
        "<p>Donate £5 a month to keep our learning resources free for small charities. "
        "Our café meetups are back in January.</p>"
    )


def footer_links(list_class: str) -> str:
    return (
        f'<ul class="{list_class}"><li><a href="/privacy/">Privacy &amp; cookies</a></li>'
        '<li><a href="/about/">Accessibility</a></li><li><a href="/contact/">Contact us</a></li>'
        '<li><a href="https://register-of-charities.charitycommission.gov.uk/">Charity Commission</a></li>'
        '<li><a href="https://twitter.com/">Twitter</a></li><li><a href="https://www.linkedin.com/">LinkedIn</a>'
        "</li></ul>"
    )


def pager(prev_url: str | None, next_url: str | None, page: int, pages: int, css_class: str) -> str:
    parts = []
    if prev_url:
        parts.append(f'<a class="prev page-numbers" rel="prev" href="{escape(prev_url)}">&laquo; Newer posts</a>')
    parts.append(f'<span class="page-numbers current">Page {page} of {pages}</span>')
    if next_url:
        parts.append(f'<a class="next page-numbers" rel="next" href="{escape(next_url)}">Older posts &raquo;</a>')
    return f'<nav class="{css_class}">{" ".join(parts)}</nav>'


def static_text(kind: str, site: SiteView) -> tuple[str, list[str]]:
    """Heading and paragraphs of the about, privacy and contact pages."""
    name = site.name
    texts = {
        "about": (
            f"About {name}",
            [
                f"{name} is an independent charity supporting people who learn and work in the voluntary sector.",
                "We publish news, guidance and stories from charities of every size, and run free events.",
            ],
        ),
        "privacy": (
            "Privacy and cookies",
            ["We collect only what we need to send you our newsletter and never sell your data."],
        ),
        "contact": ("Contact us", ["Email hello@example.org or call us on weekdays between 9am and 5pm."]),
    }
    return texts[kind]
