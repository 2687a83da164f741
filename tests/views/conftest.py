"""Fixtures of the browsing view tests (defined in ``browse_data.py``)."""

from tests.views.browse_data import (  # noqa: F401
    image_root,
    outsider_dataset,
    samples,
    space,
    train_tag,
)
