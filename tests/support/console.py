"""What a browser test counts as a problem on a page: console errors and uncaught exceptions,
CSP violations included, with the few messages that are not problems left out."""

from __future__ import annotations

from typing import Any

# the hash of an empty string: htmx's settle step copies ``style`` between elements of the same
# id, and the CSP refuses even an EMPTY one (which styles nothing)
EMPTY_STYLE = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

# htmx logs a request it aborted itself (``hx-sync="this:replace"``: a facet panel asked again
# for a newer filter) as two error lines; its other failures log a line of their own besides
# ``htmx:afterRequest`` (``htmx:sendError``, ``htmx:timeout``, ``htmx:responseError``), which
# still count
HTMX_ABORT = ("htmx:sendAbort", "htmx:afterRequest")


def console_problems(page: Any) -> list[str]:
    """Console errors and uncaught exceptions of ``page`` (the list fills while the test runs),
    except the favicon's 404, a refused empty style attribute and htmx's log of a request it
    replaced by a newer one."""
    problems: list[str] = []

    def seen(message: Any) -> None:
        text = message.text
        if message.type != "error" or "favicon" in message.location.get("url", ""):
            return
        if "inline style" in text and EMPTY_STYLE in text:
            return
        if text.startswith(HTMX_ABORT):
            return
        problems.append(text)

    page.on("console", seen)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems
