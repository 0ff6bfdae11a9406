"""Scrapy settings for a crawl, built from Signpost's settings: polite by default."""

from __future__ import annotations

from signpost.config.settings import Settings


def scrapy_settings(settings: Settings) -> dict:
    """The settings dict handed to CrawlerProcess in the crawl child process."""
    return {
        "BOT_NAME": "signpost",
        "USER_AGENT": settings.crawler_user_agent,
        "ROBOTSTXT_OBEY": settings.obey_robots_txt,
        "AUTOTHROTTLE_ENABLED": settings.autothrottle,
        "AUTOTHROTTLE_START_DELAY": 0.5,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(settings.concurrent_requests_per_domain),
        "CONCURRENT_REQUESTS": settings.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.concurrent_requests_per_domain,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DOWNLOAD_MAXSIZE": settings.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": settings.max_redirects,
        "RETRY_TIMES": settings.retry_times,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "SIGNPOST_ALLOW_PRIVATE_ADDRESSES": settings.allow_private_addresses,
        "SIGNPOST_ALLOWED_NETWORKS": list(settings.allowed_networks),
        # Resolves each host once and connects to the address it vetted: the crawl resists DNS rebinding.
        "DNS_RESOLVER": "signpost.spiders.middlewares.VettingResolver",
        "DOWNLOADER_MIDDLEWARES": {
            "signpost.spiders.middlewares.PrivateAddressMiddleware": 90,
            "signpost.spiders.middlewares.RetryBackoffMiddleware": 560,
            # Scrapy's own, in their places, but raising errors of their own type (see describe_failure).
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "signpost.spiders.middlewares.TypedRobotsTxtMiddleware": 100,
            "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
            "signpost.spiders.middlewares.TypedRedirectMiddleware": 600,
        },
        "ITEM_PIPELINES": {"signpost.spiders.pipelines.PageWriterPipeline": 300},
        "SIGNPOST_STORE_URL": settings.store_url,
    }
