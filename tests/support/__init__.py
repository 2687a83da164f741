"""The tests' helper library. Plugins (fixtures, loaded by ``tests/conftest.py`` through
``pytest_plugins``): ``api``, ``browse``, ``deletion``, ``uploads``. Plain helper modules
(functions and records a test imports): ``db_faults``, ``hostile``, ``ingest``, ``jobs``,
``seeds``, ``selection``, ``selection_pages``, ``selection_reference``, ``workers``.

Test modules import from here, never from another test module or a ``conftest.py``.
"""
