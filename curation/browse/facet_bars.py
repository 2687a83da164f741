"""A histogram facet drawn as SVG bars (the sidebar's numeric panels)."""

from __future__ import annotations

from dataclasses import dataclass

from curation.browse.facets import HistogramFacet


@dataclass(frozen=True)
class Bar:
    """One bin of a histogram as an SVG rectangle in a 200 x 40 ``viewBox``."""

    x: float
    y: float
    height: float
    low: float
    high: float
    count: int
    chosen: bool  # inside the range the filter chose


VIEW_WIDTH, VIEW_HEIGHT = 200, 40


def histogram_bars(
    facet: HistogramFacet, chosen: tuple[float | None, float | None] | None
) -> list[Bar]:
    """The bins of ``facet`` scaled to the tallest; a bin with samples is never invisible."""
    if facet.low is None or not facet.counts:
        return []
    top = max(facet.counts) or 1
    width = VIEW_WIDTH / len(facet.counts)
    lo, hi = chosen if chosen is not None else (None, None)
    bars = []
    for i, count in enumerate(facet.counts):
        low, high = facet.edges(i)
        height = 0.0 if count == 0 else max(VIEW_HEIGHT * count / top, 1.0)
        inside = chosen is not None and (lo is None or high >= lo) and (hi is None or low <= hi)
        bars.append(
            Bar(
                x=round(i * width, 2),
                y=round(VIEW_HEIGHT - height, 2),
                height=round(height, 2),
                low=low,
                high=high,
                count=count,
                chosen=inside,
            )
        )
    return bars
