"""A generated web of charity-sector sites, served on loopback, with the truth a crawl should find."""

from fixtureweb.generator import REFERENCE_NOW, build_fixture_web
from fixtureweb.records import Fault, FixtureWeb, Site, TrueArticle
from fixtureweb.server import FixtureServer, RequestRecord

__all__ = [
    "REFERENCE_NOW",
    "Fault",
    "FixtureServer",
    "FixtureWeb",
    "RequestRecord",
    "Site",
    "TrueArticle",
    "build_fixture_web",
]
