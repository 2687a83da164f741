"""No dropdown label of the builder is cut off: every select is at least as wide as the text of
whichever option is chosen (the longest one of each is tried), at a laptop's window size."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# For every visible select: choose its longest option (no change event, so the form stays as
# it is), then compare the label's rendered width with the room inside the select (its width
# minus padding and the arrow).
MEASURE = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('main select')].filter(s => s.offsetParent).map(s => {
    let longest = 0;
    [...s.options].forEach((o, i) => {
      if (o.text.length > s.options[longest].text.length) longest = i;
    });
    s.selectedIndex = longest;
    const cs = getComputedStyle(s);
    ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const text = s.options[longest] ? s.options[longest].text : '';
    const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 18;
    return {id: s.id || s.name, text, need: Math.ceil(ctx.measureText(text).width), room};
  });
}"""


@pytest.mark.parametrize("strategy", ["DIVERSITY", "BALANCE", "WEIGHTS", "THRESHOLD"])
def test_no_dropdown_label_is_cut_off(page, demo_dataset, strategy):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/datasets/{demo_dataset.pk}/builder/")
    page.select_option("#s0-strategy", strategy)
    page.wait_for_function(
        f"document.querySelector('#config-json').value.includes('{strategy}')", timeout=30_000
    )
    page.wait_for_load_state("networkidle")
    measured = page.evaluate(MEASURE)
    assert len(measured) >= 2, measured
    cut = [m for m in measured if m["need"] > m["room"]]
    assert not cut, f"labels cut off: {cut}"
