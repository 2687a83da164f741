"""The browser tests' console watcher (``tests.support.console``) lets through only what is
harmless: htmx's log of a request it replaced, the favicon's 404, a refused empty style."""

from __future__ import annotations

from types import SimpleNamespace

from tests.support.console import EMPTY_STYLE, console_problems


class FakePage:
    def __init__(self) -> None:
        self.handlers: dict[str, object] = {}

    def on(self, event: str, handler) -> None:
        self.handlers[event] = handler

    def console(self, kind: str, text: str, url: str = "http://x/page") -> None:
        self.handlers["console"](SimpleNamespace(type=kind, text=text, location={"url": url}))


def test_real_errors_count_and_harmless_messages_do_not():
    page = FakePage()
    problems = console_problems(page)
    page.console("error", "htmx:sendAbort, [object HTMLDivElement]")
    page.console("error", "htmx:afterRequest, [object HTMLDivElement]")
    page.console("error", "Failed to load resource: 404", url="http://x/favicon.ico")
    page.console("error", f"Refused to apply inline style ... '{EMPTY_STYLE}' ...")
    page.console("warning", "something minor")
    assert problems == []
    page.console("error", "htmx:sendError, [object HTMLDivElement]")
    page.console("error", "htmx:responseError, [object HTMLFormElement]")
    page.console("error", "Refused to apply inline style ... 'sha256-abc' ...")
    page.console("error", "Failed to load resource: 404", url="http://x/static/app.js")
    page.handlers["pageerror"](ValueError("boom"))
    assert problems == [
        "htmx:sendError, [object HTMLDivElement]",
        "htmx:responseError, [object HTMLFormElement]",
        "Refused to apply inline style ... 'sha256-abc' ...",
        "Failed to load resource: 404",
        "boom",
    ]
