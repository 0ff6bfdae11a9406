"""Scrapy crawling of sources, discovery of what to crawl for a URL, and extraction of pages into articles."""
