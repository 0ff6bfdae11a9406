"""Failed crawl requests told apart by the type of their error, as sentences an admin understands."""

from __future__ import annotations

from scrapy.exceptions import CannotResolveHostError, DownloadCancelledError, DownloadTimeoutError
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure

from signpost.spiders.middlewares import PrivateAddressRefused, RobotsTxtRefused, TooManyRedirects

TIMEOUT_ERRORS = (DownloadTimeoutError, twisted_errors.TimeoutError, twisted_errors.TCPTimedOutError)


def describe_failure(failure: Failure) -> tuple[int, str]:
    """(HTTP status or 0, a sentence an admin understands) for a failed request, told apart by the error's type."""
    error = failure.value
    if isinstance(error, HttpError):
        status = error.response.status
        return status, f"HTTP {status}"
    message = str(error) or type(error).__name__
    if isinstance(error, RobotsTxtRefused):
        return 0, "disallowed by robots.txt"
    if isinstance(error, PrivateAddressRefused):
        return 0, f"refused: {message}"
    if isinstance(error, TooManyRedirects):
        return 0, f"too many redirects ({message})"
    if isinstance(error, DownloadCancelledError):
        return 0, "response too large (over the size limit, SIGNPOST_MAX_PAGE_BYTES)"
    if isinstance(error, TIMEOUT_ERRORS):
        return 0, f"timed out ({message})"
    if isinstance(error, CannotResolveHostError | twisted_errors.DNSLookupError):
        return 0, f"host name not found ({message})"
    if isinstance(error, twisted_errors.ConnectionRefusedError):
        return 0, "connection refused"
    return 0, f"{type(error).__name__}: {message}"
