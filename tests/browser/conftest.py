"""Real-browser test infrastructure: the real ASGI app under Daphne and headless Debian chromium.

Fixtures (keep them stable, other test modules build on them):

``live_server_url``  the base URL (no trailing slash) of ``curation.asgi.application`` (HTTP and
                     websockets) served by Daphne in a thread of the test process, so it shares
                     the test database; requesting it makes the test transactional.
``browser``          one headless chromium per session (``/usr/bin/chromium``, never downloaded).
``login``            ``login(user) -> Page``: a fresh browser context logged in as ``user``.
``page``             a Playwright page logged in as alice (``tests/conftest.py``).
``anonymous_page``   a Playwright page with no session.
``demo_dataset``     the demo dataset (1,797 digits) created for alice, shared with her team.
``screenshot``       ``screenshot(page, "name")`` saves ``artifacts/screenshots/name.png``.

Every test here is marked ``browser``. Without ``/usr/bin/chromium`` the tests are skipped
locally and fail when ``CI=true``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CURATION_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


class _DaphneThread(threading.Thread):
    """Daphne (Twisted's asyncio reactor) serving the ASGI app on a free port in this process."""

    def __init__(self) -> None:
        super().__init__(name="live-daphne", daemon=True)
        self.ready = threading.Event()
        self.port = 0
        self.error: BaseException | None = None
        self.server: Any = None

    def run(self) -> None:
        try:
            from daphne.endpoints import build_endpoint_description_strings
            from daphne.server import Server
            from twisted.internet import reactor

            from curation.asgi import application

            self.server = Server(
                application=application,
                endpoints=build_endpoint_description_strings(host="127.0.0.1", port=0),
                signal_handlers=False,
                verbosity=0,
            )
            reactor.callLater(0.05, self._poll_port)  # type: ignore[attr-defined]
            self.server.run()
        except BaseException as exc:  # reported to the fixture
            self.error = exc
            self.ready.set()

    def _poll_port(self) -> None:
        from twisted.internet import reactor

        if self.server.listening_addresses:
            self.port = int(self.server.listening_addresses[0][1])
            self.ready.set()
        else:
            reactor.callLater(0.05, self._poll_port)  # type: ignore[attr-defined]

    def stop(self) -> None:
        from twisted.internet import reactor

        if reactor.running:  # type: ignore[attr-defined]
            reactor.callFromThread(reactor.stop)  # type: ignore[attr-defined]
        self.join(timeout=5)


@pytest.fixture(scope="session")
def _live_daphne(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    thread = _DaphneThread()
    thread.start()
    if not thread.ready.wait(20) or thread.error is not None:
        raise RuntimeError(f"The live Daphne server did not start: {thread.error!r}")
    yield f"http://127.0.0.1:{thread.port}"
    thread.stop()


@pytest.fixture
def live_server_url(_live_daphne: str, transactional_db: Any, settings: Any) -> str:
    """Base URL of the live ASGI server; the test's data is committed so the server sees it."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    return _live_daphne


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)."
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread; Django would refuse the ORM
    # calls of fixtures and tests (the server runs in its own thread and is unaffected).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_playwright: Any) -> Iterator[Any]:
    browser = _playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def login(browser: Any, live_server_url: str) -> Iterator[Callable[[Any], Any]]:
    """``login(user)``: a new page whose context carries a session cookie for ``user``."""
    from django.conf import settings as django_settings
    from django.test import Client

    contexts: list[Any] = []

    def _login(user: Any, *, bypass_csp: bool = True) -> Any:
        """``bypass_csp``: Playwright's string predicates (``wait_for_function``) run through
        ``eval``, which the app's Content-Security-Policy refuses; the CSP tests pass False."""
        client = Client()
        client.force_login(user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        context = browser.new_context(
            base_url=live_server_url, viewport={"width": 1400, "height": 900}, bypass_csp=bypass_csp
        )
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server_url}])
        context.set_default_timeout(20_000)  # a busy 2-core CI machine
        contexts.append(context)
        return context.new_page()

    yield _login
    for context in contexts:
        context.close()


@pytest.fixture
def page(login: Callable[[Any], Any], alice: Any) -> Any:
    return login(alice)


@pytest.fixture
def strict_page(login: Callable[[Any], Any], alice: Any) -> Any:
    """Alice's page with the Content-Security-Policy enforced for the test's own scripts too."""
    return login(alice, bypass_csp=False)


@pytest.fixture
def anonymous_page(browser: Any, live_server_url: str) -> Any:
    context = browser.new_context(
        base_url=live_server_url, viewport={"width": 1400, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(20_000)  # a busy 2-core CI machine
    yield context.new_page()
    context.close()


@pytest.fixture
def demo_dataset(alice: Any, team: Any, live_server_url: str) -> Any:
    from curation.datasets.demo import demo_dataset_create

    dataset = demo_dataset_create(owner=alice)
    assert dataset is not None
    dataset.team = team
    dataset.save(update_fields=["team"])
    return dataset


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """``screenshot(page, "browser")`` writes ``artifacts/screenshots/browser.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shot(page: Any, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        # A full-page shot does not scroll, so lazy images below the fold would stay blank.
        page.evaluate(
            "document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
        )
        # Polled from here: ``wait_for_function`` polls by evaluating a string in the page,
        # which a page under the strict CSP (``strict_page``) refuses once it has to wait.
        deadline = time.monotonic() + 10
        while not page.evaluate("Array.from(document.images).every(i => i.complete)"):
            if time.monotonic() > deadline:
                break  # a shot of what there is, rather than no shot
            page.wait_for_timeout(50)
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return _shot
