"""The selection flow in a real browser: build DIVERSITY + WEIGHTS on the demo dataset from the
browser's filter, start it, watch the progress over the websocket (two watchers), land on the
result with its charts; save a preset; screenshots of every selection page."""

from __future__ import annotations

import threading
import time

from curation.models import SelectionRun, StrategyPreset

WS_OPEN = (
    "() => { const el = document.querySelector('[ws-connect]');"
    " return el && el['htmx-internal-data'] && el['htmx-internal-data'].webSocket"
    " && el['htmx-internal-data'].webSocket.socket.readyState === 1; }"
)
RECORD_PROGRESS = """() => {
  window.seenProgress = [];
  const note = () => {
    const bar = document.querySelector('#run-progress progress');
    if (bar) window.seenProgress.push(Number(bar.value));
  };
  new MutationObserver(note).observe(document.body, {childList: true, subtree: true});
}"""


def _execute_in_a_worker(run_id: int, monkeypatch) -> threading.Thread:
    """Stand in for ``manage.py db_worker``: execute the queued run, each pick slowed down so
    that the progress bar has intermediate values to show."""
    from curation.runs.services import selection_run_execute
    from curation.selection import engine

    tick = engine._Ticker.tick

    def slow_tick(self, done, total, *, final=False):
        time.sleep(0.04)
        return tick(self, done, total, final=final)

    monkeypatch.setattr(engine._Ticker, "tick", slow_tick)

    def work() -> None:
        from django.db import connection

        try:
            selection_run_execute(run_id=run_id)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_build_start_watch_and_read_a_selection(
    page, login, bob, demo_dataset, screenshot, monkeypatch
):
    page.goto(f"/datasets/{demo_dataset.pk}/select/?task=ground_truth&label=1&label=7")
    assert page.locator("#candidate-count").inner_text() == "361"  # the ones and sevens

    # two strategies: DIVERSITY on the default embedding + WEIGHTS on a score
    assert page.locator("#s0-strategy").input_value() == "DIVERSITY"
    page.click("#add-row")
    page.wait_for_selector("#s1-strategy")
    assert page.locator("#s1-strategy").input_value() == "WEIGHTS"
    assert page.locator("#s1-input").input_value() == "SCORES"
    page.select_option("#s1-score", label="digit-classifier · uncertainty_entropy")
    page.wait_for_function(
        "document.querySelector('#config-json').value.includes('uncertainty_entropy')"
    )
    page.fill("#s1-strength", "0.5")
    page.fill("#n-samples", "60")
    page.locator("#n-samples").dispatch_event("change")
    page.wait_for_function("document.querySelector('#config-json').value.includes('60')")

    # the result tag name is checked as one types
    page.fill("#result-tag-name", "")
    page.locator("#result-tag-name").type("ones-and-sevens")
    page.wait_for_selector("#tag-status.tag-available")
    assert "Valid config" in page.locator("#selection-form").inner_text()
    screenshot(page, "selection-dialog")

    page.click("#start-selection")
    page.wait_for_url("**/runs/*/")
    run = SelectionRun.objects.get()
    assert run.status == "queued" and run.result_tag_name == "ones-and-sevens"
    assert [s["strategy"]["type"] for s in run.config["strategies"]] == ["DIVERSITY", "WEIGHTS"]

    # a second person watches the same run
    other = login(bob)
    other.goto(f"/runs/{run.pk}/")
    for watcher in (page, other):
        watcher.wait_for_function(WS_OPEN)
    page.evaluate(RECORD_PROGRESS)
    screenshot(page, "run-queued")

    worker = _execute_in_a_worker(run.pk, monkeypatch)
    for watcher in (page, other):
        watcher.wait_for_selector("#run-progress.run-succeeded", timeout=30_000)
    worker.join(10)
    seen = page.evaluate("window.seenProgress")
    assert any(0 < value < 100 for value in seen), seen  # it moved, live, without a reload
    assert "Selected 60" in other.locator("#run-progress").inner_text()

    # the result sections load into the run page
    page.wait_for_selector("#run-results svg")
    text = page.locator("#run-results").inner_text()
    assert "Classes of ground_truth" in text and "random pick of the same size" in text
    assert page.locator("#run-results .thumbs li").count() == 60
    assert page.locator("#run-results tr[id^=pick-]").count() == 60
    screenshot(page, "run-result")

    page.goto(f"/datasets/{demo_dataset.pk}/runs/")
    assert "ones-and-sevens" in page.locator("#runs").inner_text()
    screenshot(page, "run-history")


def test_build_and_save_a_preset_then_apply_it(page, demo_dataset, screenshot):
    page.goto(f"/datasets/{demo_dataset.pk}/builder/")
    page.select_option("#s0-strategy", "BALANCE")
    page.wait_for_selector("#s0-pred_task")
    page.select_option("#s0-input", "PREDICTIONS")
    page.wait_for_selector("#s0-distribution")
    page.select_option("#s0-distribution", "UNIFORM")
    page.wait_for_function("document.querySelector('#config-json').value.includes('UNIFORM')")
    page.click("#add-row")
    page.wait_for_selector("#s1-strategy")
    page.select_option("#s1-strategy", "THRESHOLD")
    page.wait_for_selector("#s1-threshold")
    assert "threshold is required" in page.locator("#row-1").inner_text()
    page.select_option("#s1-input", "METADATA")
    page.wait_for_selector("#s1-metadata_key")
    page.select_option("#s1-metadata_key", "lightly.sharpness")
    page.fill("#s1-threshold", "1000")
    page.locator("#s1-threshold").dispatch_event("change")
    page.wait_for_selector(".ok-note")
    page.fill("#preset-name", "balanced sharp digits")
    page.select_option("#preset-visibility", "team")
    screenshot(page, "builder")
    page.click("#save-preset")
    page.wait_for_url("**/presets/")
    preset = StrategyPreset.objects.get()
    assert preset.config["strategies"][0]["strategy"] == {
        "type": "BALANCE",
        "distribution": "UNIFORM",
    }
    assert preset.config["strategies"][1]["strategy"]["threshold"] == 1000
    assert page.locator(".preset-name", has_text="balanced sharp digits").is_visible()
    screenshot(page, "presets")

    # pasting invalid JSON says where it is wrong
    page.goto(f"/datasets/{demo_dataset.pk}/builder/")
    page.locator(".json-view summary").click()
    page.fill("#config-json", '{"n_samples": 5 "strategies": []}')  # a missing comma
    page.click("#load-json")
    page.wait_for_selector(".json-view .field-error")
    assert "line 1, column 17" in page.locator(".json-view .field-error").inner_text()

    # the dialog applies the preset
    page.goto(f"/datasets/{demo_dataset.pk}/select/")
    page.select_option("#preset", label="balanced sharp digits")
    page.wait_for_selector("#s1-threshold")
    assert page.locator("#s1-threshold").input_value() == "1000"
    assert page.locator("#s0-distribution").input_value() == "UNIFORM"
