"""The image-decoding worker processes import only what they need: no Django app registry.

Worker processes start fresh (forkserver/spawn) without ``django.setup()``; a model import on
their path raised ``AppRegistryNotReady`` and silently sent every import back to the slow
in-process path.
"""

from __future__ import annotations

import subprocess
import sys


def test_the_decode_worker_modules_import_without_django_models():
    code = (
        "import sys, curation.imports.images, curation.storage.thumbnails; "
        "print(sorted(m for m in sys.modules if m.startswith('curation.models')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stderr
