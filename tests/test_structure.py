"""scripts/check_structure.py: each never-arrow fires on a small fake package, a clean one passes,
and the real ``curation`` package passes (issue 11, points 2 and 4)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_structure.py"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_structure", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


checker = _load_checker()

CLEAN = {
    "__init__.py": "",
    "urls.py": "from curation.api import urls as api_urls\nfrom curation.runs import urls\n",
    "models/__init__.py": "from .runs import Run\n",
    "models/runs.py": "from django.db import models\n\nclass Run(models.Model):\n    pass\n",
    "selection/__init__.py": "from .engine import select\n",
    "selection/engine.py": (
        "from __future__ import annotations\nimport os\nimport numpy as np\n"
        "from threadpoolctl import ThreadpoolController\nfrom .kernels import gemm\n"
        "def select():\n    return gemm()\n"
    ),
    "selection/kernels.py": "import numpy as np\ndef gemm():\n    return np.ones(1)\n",
    "runs/__init__.py": "",
    "runs/services.py": (
        "from typing import TYPE_CHECKING\nfrom curation.models import Run\n"
        "from curation.selection import select\n"
        "if TYPE_CHECKING:\n    from curation.runs.views import detail\n"
        "def run_start():\n    import torch\n    return select()\n"
    ),
    "runs/views.py": (
        "from django.shortcuts import render\nfrom . import services\n"
        "def detail(request):\n    return render(request, 'x.html')\n"
    ),
    "runs/urls.py": "from .views import detail\n",
    "runs/api.py": "from rest_framework import views\nfrom .serializers import RunSerializer\n",
    "runs/serializers.py": "from curation.models import Run\nRunSerializer = Run\n",
    "api/__init__.py": "",
    "api/urls.py": "from curation.runs import api\n",
    "realtime/__init__.py": "",
    "realtime/run_events.py": "from django.template.loader import render_to_string\n",
}


def build(tmp_path: Path, overrides: dict[str, str]) -> Path:
    files = {**CLEAN, **overrides}
    package = tmp_path / "curation"
    for rel, text in files.items():
        path = package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def findings(tmp_path: Path, **overrides: str) -> list[str]:
    """Findings for the clean package with files replaced (``runs__services_py`` names
    ``runs/services.py``)."""
    files = {k.replace("__", "/").replace("_py", ".py"): text for k, text in overrides.items()}
    return checker.check(build(tmp_path, files))[0]


def test_a_clean_package_passes(tmp_path, capsys):
    package = build(tmp_path, {})
    assert checker.check(package)[0] == []
    assert checker.main([str(package)]) == 0
    assert "no import cycles" in capsys.readouterr().out


def test_a_module_level_cycle_is_reported_with_its_path(tmp_path, capsys):
    found = findings(tmp_path, models__runs_py="from curation.runs.services import run_start\n")
    cycles = [f for f in found if "import cycle" in f]
    assert len(cycles) == 1
    assert "curation.models.runs" in cycles[0] and "curation.runs.services" in cycles[0]
    assert checker.main([str(tmp_path / "curation")]) == 1
    assert "import cycle" in capsys.readouterr().out


def test_a_cycle_through_relative_imports_is_found(tmp_path):
    found = findings(tmp_path, selection__kernels_py="from .engine import select\n")
    assert any("import cycle" in f and "curation.selection.engine" in f for f in found)


def test_type_checking_imports_make_no_cycle(tmp_path):
    # runs/services.py imports runs/views.py only for type checking; views imports services
    assert findings(tmp_path) == []


def test_a_function_level_import_of_a_package_module_is_reported(tmp_path):
    found = findings(
        tmp_path,
        runs__views_py="from . import services\ndef detail(request):\n"
        "    from curation.models import Run\n    return Run\n",
    )
    assert found == [
        "curation/runs/views.py:3: function-level import of curation.models; import it at module "
        "level (if that makes a cycle, move the shared code so it does not)."
    ]


def test_function_level_imports_of_other_modules_need_the_allowlist(tmp_path):
    found = findings(
        tmp_path,
        models__runs_py="def f():\n    import json\n    import yaml\n"
        "    import onnxruntime\n    from av import open\n",
    )
    assert [f.split(":")[:2] for f in found] == [
        ["curation/models/runs.py", "2"],
        ["curation/models/runs.py", "3"],
    ]
    assert "json" in found[0] and "yaml" in found[1]


def test_the_engine_imports_only_stdlib_numpy_and_threadpoolctl(tmp_path):
    found = findings(
        tmp_path,
        selection__kernels_py="import numpy\nimport django.conf\nfrom curation.models import Run\n"
        "import json5\n",
    )
    assert [f.split(":")[1] for f in found] == ["2", "3", "4"]
    assert all("the selection engine imports" in f for f in found)


def test_pages_never_import_the_api(tmp_path):
    found = findings(
        tmp_path, runs__views_py="from . import services\nfrom .serializers import RunSerializer\n"
    )
    assert found == [
        "curation/runs/views.py:2: page module imports API module curation.runs.serializers; "
        "pages never import the API (share the code through a service or selector)."
    ]
    found = findings(tmp_path, runs__urls_py="from curation.api.urls import api\n")
    assert any("page module imports API module curation.api.urls" in f for f in found)


def test_the_api_never_imports_pages(tmp_path):
    found = findings(tmp_path, runs__api_py="from .views import detail\n")
    assert found == [
        "curation/runs/api.py:1: API module imports page module curation.runs.views; the API "
        "never imports pages (share the code through a service or selector)."
    ]
    found = findings(tmp_path, api__urls_py="from curation.runs import urls\n")
    assert any("API module imports page module curation.runs.urls" in f for f in found)


def test_pages_and_the_api_reach_the_engine_only_through_services(tmp_path):
    found = findings(
        tmp_path,
        runs__views_py="from curation.selection.engine import select\n",
        runs__serializers_py="from curation import selection\n",
    )
    assert [f.split(":")[0] for f in found] == [
        "curation/runs/serializers.py",
        "curation/runs/views.py",
    ]
    assert "API module imports the engine (curation.selection)" in found[0]
    assert "page module imports the engine (curation.selection.engine)" in found[1]


def test_services_never_render_templates(tmp_path):
    found = findings(
        tmp_path,
        runs__services_py="from django.template.loader import render_to_string\n",
        runs__api_py="from django.shortcuts import render\n",
        models__runs_py="from django.template import loader\n",
    )
    assert [f.split(":")[0] for f in found] == [
        "curation/models/runs.py",
        "curation/runs/api.py",
        "curation/runs/services.py",
    ]
    assert all("imports a template renderer" in f for f in found)


def test_pages_web_realtime_and_admin_may_render(tmp_path):
    render = "from django.shortcuts import render\nfrom django.template import loader\n"
    assert (
        findings(
            tmp_path,
            web__errors_py=render,
            realtime__job_events_py=render,
            admin_py=render,
            runs__views_history_py=render,
            runs__forms_py=render,
        )
        == []
    )


def test_migrations_are_skipped(tmp_path):
    assert findings(tmp_path, migrations__0001_initial_py="def f():\n    import os\n") == []


@pytest.mark.skipif(not (ROOT / "curation").is_dir(), reason="no curation package here")
def test_the_real_package_holds_the_never_arrows():
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Structure check:" in result.stdout
