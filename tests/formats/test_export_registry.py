"""The export format registry: importable without Django (pages, API, CLI and any client list
the formats from it), and complete for every format."""

from __future__ import annotations

import subprocess
import sys

from curation.formats.export import FORMAT_NAMES, FORMATS, ExportError, export_format


def test_the_registry_imports_without_django():
    code = (
        "import sys, curation.formats.export as e; "
        "assert not [m for m in sys.modules if m.startswith('django')]; print(*e.FORMAT_NAMES)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        *("filenames", "csv", "coco", "yolo", "lightly-csv", "objects-csv", "object-crops"),
        "video_frames",
    ]


def test_every_format_has_a_label_an_extension_and_a_content_type():
    for name in FORMAT_NAMES:
        spec = export_format(name)
        assert spec is FORMATS[name] and spec.label and spec.extension and "/" in spec.content_type
    assert [name for name in FORMAT_NAMES if FORMATS[name].folder] == ["yolo", "object-crops"]


def test_an_unknown_name_lists_the_known_ones():
    try:
        export_format("pdf")
    except ExportError as error:
        assert str(error) == (
            "Unknown export format 'pdf': use one of filenames, csv, coco, yolo, lightly-csv, "
            "objects-csv, object-crops, video_frames."
        )
    else:
        raise AssertionError("pdf was accepted")
