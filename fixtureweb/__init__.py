"""A generated web of charity-sector sites, served on loopback, with the truth a crawl should find."""

from signpost.fixtureweb.generator import DEMO_CORPUS, REFERENCE_NOW, build_fixture_web
from signpost.fixtureweb.records import Fault, FixtureWeb, Site, TrueArticle
from signpost.fixtureweb.server import FixtureServer, RequestRecord

__all__ = [
    "DEMO_CORPUS",
    "REFERENCE_NOW",
    "Fault",
    "FixtureServer",
    "FixtureWeb",
    "RequestRecord",
    "Site",
    "TrueArticle",
    "build_fixture_web",
]
