"""Six HTML template styles, each with its own markup, class names, date display and boilerplate."""

from __future__ import annotations

from html import escape

from signpost.fixtureweb.page_parts import (
    ArticleView,
    ListItem,
    SiteView,
    comment_form,
    comment_items,
    cookie_banner,
    drupal_date,
    footer_links,
    footer_text,
    json_ld,
    long_date,
    newsletter_box,
    numeric_date,
    open_graph,
    ordinal_date,
    paragraphs_html,
    published_meta,
    related_list,
    share_list,
    us_date,
)


class PageStyle:
    """A site theme; subclasses change the markup, the base class assembles pages from the pieces."""

    name = "base"
    title_format = "{title} | {site}"

    def head(self, site: SiteView, title: str, extra: str = "", canonical: str = "") -> str:
        canonical_tag = f'<link rel="canonical" href="{escape(canonical)}">\n' if canonical else ""
        return (
            f'<meta charset="{site.charset}">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n{canonical_tag}{site.feed_link}{extra}"
        )

    def nav(self, site: SiteView, list_class: str) -> str:
        items = "".join(f'<li><a href="{href}">{label}</a></li>' for label, href in site.nav_links())
        return f'<ul class="{list_class}">{items}</ul>'

    def document(self, site: SiteView, head: str, main: str, body_class: str) -> str:
        raise NotImplementedError

    def article_head(self, view: ArticleView) -> str:
        return open_graph(view)

    def article_main(self, view: ArticleView) -> str:
        raise NotImplementedError

    def item_html(self, item: ListItem) -> str:
        return (
            f'<article class="post-summary"><h2><a href="{escape(item.url)}">{escape(item.title)}</a></h2>'
            f'<p class="meta">{long_date(item.published)} &middot; {escape(item.author)}</p>'
            f"<p>{escape(item.summary)}</p></article>"
        )

    def article(self, site: SiteView, view: ArticleView) -> str:
        title = self.title_format.format(title=view.title, site=site.name)
        head = self.head(site, title, self.article_head(view), canonical=view.url)
        return self.document(site, head, self.article_main(view), "single single-post")

    def listing(self, site: SiteView, heading: str, items: list[ListItem], pager_html: str, canonical: str) -> str:
        body = "\n".join(self.item_html(item) for item in items)
        main = f'<h1 class="page-title">{escape(heading)}</h1>\n<div class="post-list">{body}</div>\n{pager_html}'
        head = self.head(site, f"{heading} | {site.name}", canonical=canonical)
        return self.document(site, head, main, "archive blog")

    def home(self, site: SiteView, items: list[ListItem], canonical: str) -> str:
        latest = "\n".join(self.item_html(item) for item in items)
        intro = f'<section class="intro"><h1>{escape(site.name)}</h1><p>{escape(site.tagline)}</p></section>'
        more = f'<p class="more"><a href="{site.listing_path}">All news</a></p>' if site.listing_path else ""
        main = f"{intro}\n<section class='latest'><h2>Latest</h2>{latest}</section>{more}\n{newsletter_box(site)}"
        return self.document(site, self.head(site, f"{site.name} - {site.tagline}", canonical=canonical), main, "home")

    def static(self, site: SiteView, heading: str, paragraphs: list[str]) -> str:
        main = f'<h1 class="page-title">{escape(heading)}</h1>\n{paragraphs_html(paragraphs)}'
        return self.document(site, self.head(site, f"{heading} | {site.name}"), main, "page")

    def not_found(self, site: SiteView) -> str:
        main = (
            '<h1 class="page-title">Page not found</h1>'
            "<p>Sorry, we couldn&rsquo;t find that page. It may have moved.</p>"
            '<form role="search" action="/"><input type="search" name="s"><button>Search</button></form>'
        )
        return self.document(site, self.head(site, f"Page not found | {site.name}"), main, "error404")


class WordPressStyle(PageStyle):
    name = "wordpress"

    def document(self, site: SiteView, head: str, main: str, body_class: str) -> str:
        return (
            f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n{head}\n<link rel="stylesheet" '
            f'href="/wp-content/themes/charitypress/style.css">\n</head>\n<body class="{body_class}">\n'
            '<div id="page" class="site"><a class="skip-link screen-reader-text" href="#content">Skip to content</a>\n'
            '<header id="masthead" class="site-header"><div class="site-branding"><p class="site-title">'
            f'<a href="/" rel="home">{escape(site.name)}</a></p><p class="site-description">{escape(site.tagline)}'
            '</p></div><nav id="site-navigation" class="main-navigation"><button class="menu-toggle">Menu</button>'
            f'{self.nav(site, "menu")}</nav></header>\n<div id="content" class="site-content"><div id="primary" '
            f'class="content-area"><main id="main" class="site-main">\n{main}\n</main></div>\n<aside id="secondary" '
            f'class="widget-area">{newsletter_box(site)}</aside></div>\n<footer id="colophon" class="site-footer">'
            f'<div class="site-info">{footer_text(site)}</div>{footer_links("footer-menu")}</footer></div>\n'
            f"{cookie_banner(0)}\n</body>\n</html>\n"
        )

    def article_head(self, view: ArticleView) -> str:
        return f"{open_graph(view)}\n{published_meta(view)}"

    def article_main(self, view: ArticleView) -> str:
        count = len(view.comments)
        return (
            f'<article id="post-{view.number}" class="post-{view.number} post type-post status-publish hentry">\n'
            f'<header class="entry-header"><h1 class="entry-title">{escape(view.title)}</h1><div class="entry-meta">'
            f'<span class="posted-on">Posted on <time class="entry-date published" '
            f'datetime="{view.published.isoformat()}">{us_date(view.published)}</time></span><span class="byline">'
            f' by <span class="author vcard"><a class="url fn n" href="/about/">{escape(view.author)}</a></span>'
            f'</span></div></header>\n<div class="entry-content">\n{paragraphs_html(view.paragraphs)}\n</div>\n'
            f'<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3>'
            f'{share_list(view, "share-buttons", "share-item")}</div>\n<footer class="entry-footer"><span '
            f'class="cat-links">Posted in <a href="/" rel="category tag">{escape(view.section)}</a></span></footer>'
            f'</article>\n<div id="jp-relatedposts" class="jp-relatedposts"><h3 class="jp-relatedposts-headline">'
            f'<em>Related</em></h3>{related_list(view, "jp-relatedposts-items")}</div>\n<div id="comments" '
            f'class="comments-area"><h2 class="comments-title">{count} thoughts on “{escape(view.title)}”</h2>'
            f'<ol class="comment-list">{comment_items(view, "comment", "comment-content")}</ol>'
            f"{comment_form('Leave a Reply')}</div>"
        )


class DrupalStyle(PageStyle):
    name = "drupal"
    title_format = "{title} - {site}"

    def document(self, site: SiteView, head: str, main: str, body_class: str) -> str:
        return (
            f'<!DOCTYPE html>\n<html lang="en" dir="ltr">\n<head>\n{head}\n</head>\n<body class="path-node '
            f'{body_class}">\n<a href="#main-content" class="visually-hidden focusable">Skip to main content</a>\n'
            '<div class="dialog-off-canvas-main-canvas"><div class="layout-container">\n<header role="banner" '
            'class="region region-header"><div class="site-branding"><a href="/" class="site-branding__logo">'
            f'{escape(site.name)}</a><div class="site-branding__slogan">{escape(site.tagline)}</div></div></header>\n'
            '<div class="region region-primary-menu"><nav role="navigation" id="block-mainnavigation">'
            f'{self.nav(site, "menu menu--main")}</nav></div>\n<div class="region region-breadcrumb"><nav '
            'class="breadcrumb"><ol><li><a href="/">Home</a></li><li>News</li></ol></nav></div>\n'
            f'<main role="main"><a id="main-content" tabindex="-1"></a><div class="layout-content">\n{main}\n</div>'
            '<aside class="layout-sidebar-second" role="complementary"><div class="block block-views"><h2>Upcoming '
            'events</h2><ul><li><a href="/contact/">Volunteer managers&rsquo; forum, 3 December</a></li><li><a '
            'href="/contact/">Safeguarding refresher, 10 December</a></li></ul></div></aside></main>\n<footer '
            f'role="contentinfo" class="site-footer"><div class="region region-footer">{footer_text(site)}'
            f"{footer_links('menu menu--footer')}</div></footer>\n</div></div>\n{cookie_banner(2)}\n</body>\n</html>\n"
        )

    def article_main(self, view: ArticleView) -> str:
        comments = comment_items(view, "comment js-comment", "field--name-comment-body")
        return (
            f'<article role="article" about="{escape(view.url)}" class="node node--type-news node--view-mode-full">\n'
            f'<h1 class="page-title"><span class="field field--name-title">{escape(view.title)}</span></h1>\n'
            f'<div class="node__meta"><span>Submitted by <span class="field--name-uid">{escape(view.author)}'
            f"</span> on {drupal_date(view.published)}</span></div>\n"
            f'<div class="node__content"><div class="clearfix text-formatted field field--name-body">\n'
            f'{paragraphs_html(view.paragraphs)}\n</div>\n<div class="field field--name-field-tags"><div '
            f'class="field__label">Tags</div><div class="field__item"><a href="/">{escape(view.section)}</a></div>'
            f'</div></div>\n<div class="social-media-sharing">{share_list(view, "links inline", "share")}</div>\n'
            f'<section class="comment-wrapper"><h2 class="title comment-section-title">Comments</h2>'
            f'<ul class="comments">{comments}</ul>{comment_form("Add new comment")}</section>\n</article>\n'
            f'<div class="block block-related"><h2>You may also like</h2>{related_list(view, "item-list")}</div>'
        )


class MagazineStyle(PageStyle):
    name = "magazine"
    title_format = "{site}: {title}"

    def document(self, site: SiteView, head: str, main: str, body_class: str) -> str:
        return (
            f'<!doctype html>\n<html lang="en">\n<head>\n{head}\n<link href="/static/css/bootstrap.min.css" '
            f'rel="stylesheet">\n</head>\n<body class="{body_class}">\n<nav class="navbar navbar-expand-lg '
            f'navbar-dark bg-primary"><div class="container"><a class="navbar-brand" href="/">{escape(site.name)}'
            f'</a>{self.nav(site, "navbar-nav me-auto")}<form class="d-flex" action="/"><input class="form-control" '
            'type="search" name="q" placeholder="Search"></form></div></nav>\n<div class="alert alert-info '
            'text-center mb-0">Applications for our 2027 leadership programme close on 12 December.</div>\n'
            f'<main class="container my-4"><div class="row"><div class="col-md-8">\n{main}\n</div>\n'
            '<div class="col-md-4 sidebar"><div class="card mb-3"><div class="card-header">Most read</div>'
            '<div class="card-body"><ol><li><a href="/about/">Ten questions to ask before you recruit trustees</a></li>'
            '<li><a href="/about/">Why volunteers leave, and how to keep them</a></li></ol></div></div>'
            f'{newsletter_box(site)}</div></div></main>\n<footer class="footer bg-dark text-white py-4"><div '
            f'class="container">{footer_text(site)}{footer_links("list-inline")}</div></footer>\n'
            f"{cookie_banner(1)}\n</body>\n</html>\n"
        )

    def article_head(self, view: ArticleView) -> str:
        return f"{open_graph(view)}\n{json_ld(view)}"

    def article_main(self, view: ArticleView) -> str:
        return (
            f'<article class="article-full"><p class="kicker text-uppercase">{escape(view.section)}</p>\n'
            f'<h1 class="display-5 article-headline">{escape(view.title)}</h1>\n<div class="article-byline d-flex">'
            f'<span class="me-3">By <a rel="author" href="/about/">{escape(view.author)}</a></span><span '
            f'class="text-muted">{long_date(view.published)}</span></div>\n<p class="lead standfirst">'
            f"{escape(view.summary)}</p>\n"
            f'<div class="social-share">{share_list(view, "list-inline", "list-inline-item")}</div>\n<div '
            f'class="article-body">\n{paragraphs_html(view.paragraphs)}\n</div></article>\n<section '
            f'class="related-articles"><h2 class="h5">Related stories</h2>{related_list(view, "list-unstyled")}'
            f'</section>\n<section class="comments" id="comments"><h2 class="h5">{len(view.comments)} comments</h2>'
            f'<ul class="list-unstyled">{comment_items(view, "media comment", "media-body")}</ul>'
            f"{comment_form('Join the discussion')}</section>"
        )


class BlogCmsStyle(PageStyle):
    name = "blogcms"
    title_format = "{title} — {site}"

    def document(self, site: SiteView, head: str, main: str, body_class: str) -> str:
        return (
            f'<!DOCTYPE html>\n<html>\n<head>\n{head}\n</head>\n<body id="collection-blog" class="{body_class} '
            f'tweak-blog-list-style-stacked">\n<div class="Site"><header class="Header"><div class="Header-inner">'
            f'<h1 class="Header-branding"><a href="/">{escape(site.name)}</a></h1><nav class="Header-nav">'
            f'{self.nav(site, "Header-nav-inner")}</nav></div></header>\n<div class="Content-outer"><section '
            f'class="Main-content" data-content-field="main-content">\n{main}\n</section></div>\n<footer '
            f'class="Footer"><div class="sqs-block html-block">{footer_text(site)}</div>{footer_links("Footer-nav")}'
            f"</footer></div>\n{cookie_banner(1)}\n</body>\n</html>\n"
        )

    def article_main(self, view: ArticleView) -> str:
        return (
            f'<article class="BlogItem hentry"><div class="BlogItem-meta"><time class="dt-published" datetime="'
            f'{view.published.date().isoformat()}">{view.published.day} {view.published:%b %Y}</time> '
            f'<span class="Blog-meta-item--author">Posted by {escape(view.author)}</span></div>\n'
            f'<h1 class="BlogItem-title" data-content-field="title">{escape(view.title)}</h1>\n'
            f'<div class="blog-item-content e-content"><div class="sqs-block html-block"><div class='
            f'"sqs-block-content">\n{paragraphs_html(view.paragraphs)}\n</div></div></div>\n'
            '<div class="BlogItem-share">'
            f'{share_list(view, "Share-buttons", "Share-buttons-item")}</div>\n<div class="BlogItem-pagination">'
            f'{related_list(view, "BlogItem-pagination-links")}</div>\n<div class="BlogItem-comments" id="comments">'
            f'<h3>Comments ({len(view.comments)})</h3><ul class="squarespace-comments">'
            f"{comment_items(view, 'comment', 'body')}</ul>{comment_form('Leave a comment')}</div></article>"
        )


class GhostStyle(PageStyle):
    name = "ghost"
    title_format = "{title}"

    def document(self, site: SiteView, head: str, main: str, body_class: str) -> str:
        return (
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{head}\n<meta name="generator" content="Ghost 5.82">\n'
            f'</head>\n<body class="{body_class}">\n<div class="viewport"><header id="gh-head" class="gh-head outer">'
            f'<div class="gh-head-inner inner"><a class="gh-head-logo" href="/">{escape(site.name)}</a><nav '
            f'class="gh-head-menu">{self.nav(site, "nav")}</nav><div class="gh-head-actions"><a class="gh-head-btn '
            f'gh-btn gh-primary-btn" href="#/portal/signup">Subscribe</a></div></div></header>\n<div '
            f'class="site-content">\n<main id="site-main" class="site-main">\n{main}\n</main></div>\n<footer '
            f'class="site-footer outer"><div class="inner">{footer_text(site)}{footer_links("site-footer-nav")}'
            f"</div></footer></div>\n{cookie_banner(0)}\n</body>\n</html>\n"
        )

    def article_head(self, view: ArticleView) -> str:
        return f"{open_graph(view)}\n{published_meta(view)}\n{json_ld(view)}"

    def article_main(self, view: ArticleView) -> str:
        return (
            f'<article class="article post"><header class="article-header gh-canvas"><section class="article-tag">'
            f'<a href="/">{escape(view.section)}</a></section>\n<h1 class="article-title">{escape(view.title)}</h1>\n'
            f'<p class="article-excerpt">{escape(view.summary)}</p>\n<div class="article-byline"><div '
            f'class="article-byline-meta"><h4 class="author-name"><a href="/about/">{escape(view.author)}</a></h4>'
            f'<div class="byline-meta-content"><time class="byline-meta-date" datetime="'
            f'{view.published.date().isoformat()}">{long_date(view.published)}</time><span class="byline-reading-time">'
            f'<span class="bull">&bull;</span> {max(1, sum(len(p) for p in view.paragraphs) // 1200)} min read'
            f'</span></div></div></div></header>\n<section class="gh-content gh-canvas">\n'
            f'{paragraphs_html(view.paragraphs)}\n</section>\n<section class="article-share">'
            f'{share_list(view, "share-links", "share-link")}</section>\n<section class="article-comments '
            f'gh-canvas"><h3>{len(view.comments)} comments</h3><ol>{comment_items(view, "gh-comment", "gh-body")}'
            f'</ol>{comment_form("Add a comment")}</section></article>\n<aside class="read-more-wrap outer">'
            f"<h2>Read more</h2>{related_list(view, 'read-more')}</aside>"
        )


class TableStyle(PageStyle):
    """An old table-layout site, the kind that still serves windows-1252."""

    name = "table"
    title_format = "{site} - {title}"

    def document(self, site: SiteView, head: str, main: str, body_class: str) -> str:
        nav = " | ".join(f'<a href="{href}" class="navlink">{label}</a>' for label, href in site.nav_links())
        return (
            f'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html>\n<head>\n{head}\n</head>\n'
            f'<body bgcolor="#ffffff" class="{body_class}">\n<table width="100%" border="0" cellpadding="0" '
            f'cellspacing="0" id="wrapper"><tr><td class="banner" colspan="2"><font size="5"><b>{escape(site.name)}'
            f'</b></font><br><i>{escape(site.tagline)}</i></td></tr>\n<tr><td class="topnav" colspan="2">{nav}'
            '</td></tr>\n<tr><td class="leftcol" width="180" valign="top"><p class="sidehead">Quick links</p><a '
            'href="/about/">Our history</a><br><a href="/contact/">Find your local group</a><br><a href="/privacy/">'
            f'Data protection</a></td>\n<td class="content" valign="top">\n{main}\n</td></tr>\n<tr><td class="footer" '
            f'colspan="2"><font size="1">{footer_text(site)}</font>{footer_links("footlinks")}</td></tr></table>\n'
            f"{cookie_banner(2)}\n</body>\n</html>\n"
        )

    def item_html(self, item: ListItem) -> str:
        return (
            f'<p class="newsitem"><a href="{escape(item.url)}"><b>{escape(item.title)}</b></a><br><font size="1">'
            f"Posted: {numeric_date(item.published)}</font><br>{escape(item.summary)}</p>"
        )

    def article_main(self, view: ArticleView) -> str:
        comments = comment_items(view, "guestbook-entry", "guestbook-text")
        return (
            f'<h2 class="headline">{escape(view.title)}</h2>\n<p class="dateline"><font size="1">By '
            f'{escape(view.author)} | Posted: {ordinal_date(view.published)}</font></p>\n<div class="storytext">\n'
            f'{paragraphs_html(view.paragraphs)}\n</div>\n<p class="printlink"><a href="javascript:window.print()">'
            f"Print this page</a> | {share_list(view, 'sharelinks', 'share')}</p>\n<hr>\n<p><b>See also:</b></p>"
            f'{related_list(view, "seealso")}\n<hr>\n<p><b>Your comments</b></p><ul class="guestbook">{comments}</ul>'
        )


STYLE_CLASSES = {
    style.name: style for style in (WordPressStyle, DrupalStyle, MagazineStyle, BlogCmsStyle, GhostStyle, TableStyle)
}


def page_style(name: str) -> PageStyle:
    return STYLE_CLASSES[name]()
