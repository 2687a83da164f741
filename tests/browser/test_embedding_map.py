"""The embedding map in a real browser: colour by a field, hover preview, click opens the sample
modal, a lasso becomes the filter, and a drag (even one that returns to where it began) is
never taken for a click."""

from __future__ import annotations

import colorsys
import math
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import reverse

from curation.browse.overlays import class_colour
from curation.filter_regions import region_sample_ids
from curation.models import Annotation, EmbeddingSpace
from tests.support.console import console_problems

CANVAS = 900
PAD = 12
ALL = [197, 200, 212]  # the uncoloured points (COLOURS.all in embedding-map.js)


def _points(space) -> dict[int, tuple[float, float]]:
    """Canvas pixel of each sample's point (as embedding-map.js places it)."""
    projection = EmbeddingSpace.objects.get(pk=space.pk).projection
    scale = projection["scale"]

    def screen(v: int) -> float:
        return PAD + v / scale * (CANVAS - 2 * PAD)

    return {
        i: (screen(x), screen(y))
        for i, x, y in zip(projection["ids"], projection["x"], projection["y"], strict=True)
    }


def _loneliest(points: dict[int, tuple[float, float]]) -> int:
    """The sample whose point is farthest from every other (hover and click pick it alone)."""
    return max(
        points,
        key=lambda i: min(math.dist(points[i], p) for j, p in points.items() if j != i),
    )


def _alone(points: dict[int, tuple[float, float]], i: int) -> bool:
    """No other point is painted over this one's centre (points are 5 pixels wide)."""
    return all(math.dist(points[i], p) > 6 for j, p in points.items() if j != i)


VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]]


def _viridis(t: float) -> list[int]:
    """The map's continuous scale (embedding-map.js), rounded as JavaScript rounds."""
    at = t * (len(VIRIDIS) - 1)
    i = min(len(VIRIDIS) - 2, math.floor(at))
    f = at - i
    return [
        math.floor(a + (b - a) * f + 0.5) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1], strict=True)
    ]


def _css(page, point: tuple[float, float]) -> tuple[float, float]:
    box = page.locator("#embedding-map").bounding_box()
    return box["x"] + point[0] * box["width"] / CANVAS, box["y"] + point[1] * box["height"] / CANVAS


def _pixel(page, point: tuple[float, float]) -> list[int]:
    x, y = (math.floor(v) for v in point)
    return page.evaluate(
        "([x, y]) => Array.from(document.getElementById('embedding-map')"
        ".getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))",
        [x, y],
    )


def _open(page, dataset, query: str = "") -> None:
    page.goto(reverse("embedding-map", args=[dataset.pk]) + query)
    page.locator("canvas[data-ready=true]").wait_for()


def _rgb(hsl: str) -> list[int]:
    h, s, lightness = (float(v) for v in re.findall(r"[\d.]+", hsl))
    return [round(c * 255) for c in colorsys.hls_to_rgb(h / 360, lightness / 100, s / 100)]


def test_colour_by_paints_the_points_and_the_legend(page, dataset, samples, space, screenshot):
    problems = console_problems(page)
    points = _points(space)
    _open(page, dataset)
    assert all(_pixel(page, p) == ALL for p in points.values())
    page.get_by_label("Colour by").select_option("label:ground_truth")
    page.locator('canvas[data-colour="label:ground_truth"]').wait_for()
    assert "colour=label%3Aground_truth" in page.url or "colour=label:ground_truth" in page.url
    legend = page.locator("#map-colour-legend li")
    assert legend.all_inner_texts() == ["cat (6)", "dog (6)"]
    rgb = {
        item.get_attribute("data-name"): [int(v) for v in item.get_attribute("data-rgb").split(",")]
        for item in legend.all()
    }
    for name, colour in rgb.items():  # the boxes' colour of the class, same on every page
        assert all(abs(a - b) <= 1 for a, b in zip(colour, _rgb(class_colour(name)), strict=True))
    labels = dict(
        Annotation.objects.filter(task__name="ground_truth").values_list("sample_id", "label")
    )
    for sample_id, point in points.items():
        if _alone(points, sample_id):
            assert _pixel(page, point) == rgb[labels[sample_id]]
    screenshot(page, "embedding-map-colour-by", full_page=False)

    page.get_by_label("Colour by").select_option("number:lightly.sharpness")
    page.locator('canvas[data-colour="number:lightly.sharpness"]').wait_for()
    assert page.locator("#map-colour-legend .low").inner_text() == "10"
    assert page.locator("#map-colour-legend .high").inner_text() == "120"
    alone = [s for s in samples if _alone(points, s.pk)]
    assert len(alone) >= 8
    for sample in alone:
        step = round((sample.metadata["lightly.sharpness"] - 10) / 110 * 65534)
        assert _pixel(page, points[sample.pk]) == _viridis((step >> 8) / 255)

    page.reload()  # the choice is in the URL
    page.locator('canvas[data-colour="number:lightly.sharpness"]').wait_for()
    assert problems == []


def test_hover_shows_the_thumbnail_and_file_name(strict_page, dataset, samples, space):
    page = strict_page
    problems = console_problems(page)
    points = _points(space)
    target = _loneliest(points)
    _open(page, dataset)
    page.mouse.move(*_css(page, points[target]))
    tooltip = page.locator(f'#map-tooltip[data-sample="{target}"]')
    tooltip.wait_for()
    name = next(s.file_name for s in samples if s.pk == target)
    page.locator("#map-tooltip .map-tooltip-name", has_text=name).wait_for()
    thumbnail = reverse("sample-thumbnail", args=[target])
    assert tooltip.locator("img").get_attribute("src") == thumbnail
    page.mouse.move(5, 5)  # off the canvas
    page.locator("#map-tooltip").wait_for(state="hidden")
    assert problems == []


@pytest.mark.parametrize("mode", ["box", "lasso"])
def test_a_click_opens_the_sample_modal_with_the_filter(strict_page, dataset, samples, space, mode):
    """In lasso mode too: a click is a click, never a degenerate lasso."""
    page = strict_page
    points = _points(space)
    target = _loneliest(points)
    _open(page, dataset, "?q=_")
    page.get_by_label(mode, exact=True).check()
    page.mouse.click(*_css(page, points[target]))
    page.wait_for_url(re.compile(rf"sample={target}(&|$)"))
    assert urlsplit(page.url).path == reverse("dataset-browser", args=[dataset.pk])
    assert ("q", "_") in parse_qsl(urlsplit(page.url).query)
    page.locator(f'#sample-modal[data-sample="{target}"]').wait_for()


def test_a_closed_lasso_becomes_the_filter(strict_page, dataset, samples, space, screenshot):
    page = strict_page
    points = _points(space)
    centre = (
        sum(p[0] for p in points.values()) / len(points),
        sum(p[1] for p in points.values()) / len(points),
    )
    radius = sorted(math.dist(centre, p) for p in points.values())[len(points) // 2]
    _open(page, dataset)
    page.get_by_label("lasso", exact=True).check()
    loop = [
        (centre[0] + radius * math.cos(a), centre[1] + radius * math.sin(a))
        for a in (2 * math.pi * k / 40 for k in range(41))  # ends where it began
    ]
    page.mouse.move(*_css(page, loop[0]))
    page.mouse.down()
    for point in loop[1:]:
        page.mouse.move(*_css(page, point))
    page.mouse.up()
    page.wait_for_url(re.compile(r"lasso(%3A|:)default="))
    assert "sample=" not in page.url
    value = dict(parse_qsl(urlsplit(page.url).query))["lasso:default"]
    coords = tuple(float(v) for v in value.split(","))
    inside = region_sample_ids(dataset, "lasso", "default", coords)
    assert 0 < len(inside) < len(samples)
    assert page.locator("#result-count strong").inner_text() == str(len(inside))
    shown = page.locator("#grid input.pick").evaluate_all("l => l.map(e => +e.value)")
    assert sorted(shown) == sorted(inside)
    screenshot(page, "embedding-map-lasso-result", full_page=False)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("box", "That box is too thin: drag across the points."),
        ("lasso", "That lasso encloses no area: draw a loop around the points."),
    ],
)
def test_a_drag_back_to_its_start_is_not_a_click(
    strict_page, dataset, samples, space, mode, message
):
    page = strict_page
    problems = console_problems(page)
    points = _points(space)
    target = _loneliest(points)
    _open(page, dataset)
    url = page.url
    page.get_by_label(mode, exact=True).check()
    start = _css(page, points[target])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 60, start[1], steps=6)
    page.mouse.move(*start, steps=6)  # back where it began: start and end are the same point
    page.mouse.up()
    page.locator("#map-status", has_text=message).wait_for()
    assert page.url == url and page.locator("#sample-modal").count() == 0
    assert problems == []
