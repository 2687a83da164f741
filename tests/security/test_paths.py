"""The checked join and the file-name check: every refusal, the fine names, symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from curation.storage.paths import (
    UnsafePathError,
    is_inside,
    safe_join,
    validate_sample_file_name,
)

REFUSED = [
    ("../../x", "contains a '..' segment"),
    ("a/../../b", "contains a '..' segment"),
    ("a/..", "contains a '..' segment"),
    ("..", "contains a '..' segment"),
    ("/etc/passwd", "is an absolute path"),
    (" /etc/passwd", "is an absolute path"),
    ("a\\b", "contains a backslash"),
    ("..\\..\\x", "contains a backslash"),
    ("x\x00y", "contains a NUL character"),
    ("", "is empty"),
    ("   ", "is empty"),
    (".", "is empty"),
    ("./", "is empty"),
]


@pytest.mark.parametrize(("name", "reason"), REFUSED)
def test_validate_refuses_names_that_could_leave_the_folder(name, reason):
    with pytest.raises(UnsafePathError) as caught:
        validate_sample_file_name(name)
    assert caught.value.reason == reason
    assert str(caught.value) == (
        f"The file name {name!r} {reason}: file names must be relative paths inside the "
        "dataset's folder."
    )


@pytest.mark.parametrize(
    "name", ["a\nb.jpg", "a\tb.jpg", "bell\x07.png", "del\x7f.png", "c1\x85.png"]
)
def test_validate_refuses_control_characters(name):
    with pytest.raises(UnsafePathError, match="contains a control character"):
        validate_sample_file_name(name)


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("a.jpg", "a.jpg"),
        ("train/sub/a.jpg", "train/sub/a.jpg"),
        ("./train/a.jpg", "train/a.jpg"),
        ("train//a.jpg", "train/a.jpg"),
        ("train/./a.jpg", "train/a.jpg"),
        (" train/a.jpg ", "train/a.jpg"),
        ("Ünïcödé/日本語 写真.png", "Ünïcödé/日本語 写真.png"),
        ("...hidden..dots.jpg", "...hidden..dots.jpg"),
        ("a..b/c.jpg", "a..b/c.jpg"),
        ("C:drive-like.png", "C:drive-like.png"),
    ],
)
def test_validate_accepts_and_normalises_fine_names(name, normal):
    assert validate_sample_file_name(name) == normal


@pytest.mark.parametrize(("name", "reason"), REFUSED)
def test_safe_join_refuses_the_same_names(tmp_path, name, reason):
    with pytest.raises(UnsafePathError) as caught:
        safe_join(tmp_path, name)
    assert caught.value.reason == reason


def test_safe_join_resolves_fine_names_inside_the_root(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "日本.png").write_bytes(b"x")
    joined = safe_join(tmp_path, "sub/日本.png")
    assert joined == (tmp_path / "sub" / "日本.png").resolve()
    assert joined.read_bytes() == b"x"
    # A destination that does not exist yet is fine too (writes are joined here).
    assert safe_join(tmp_path, "new/folder/x.txt") == tmp_path.resolve() / "new/folder/x.txt"


def test_safe_join_refuses_a_symlink_inside_the_root_that_points_outside(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "up")
    for name in ("link.txt", "up/secret.txt"):
        with pytest.raises(UnsafePathError) as caught:
            safe_join(root, name)
        assert caught.value.reason == "leads outside its folder through a symlink"
    assert not is_inside(root, root / "link.txt")


def test_safe_join_follows_symlinks_that_stay_inside(tmp_path):
    (tmp_path / "real.png").write_bytes(b"png")
    os.symlink(tmp_path / "real.png", tmp_path / "alias.png")
    assert safe_join(tmp_path, "alias.png") == (tmp_path / "real.png").resolve()
    assert is_inside(tmp_path, tmp_path / "alias.png")


def test_safe_join_refuses_the_root_itself_and_an_empty_root(tmp_path):
    os.symlink(tmp_path, tmp_path / "self")
    with pytest.raises(UnsafePathError, match="names its folder itself"):
        safe_join(tmp_path, "self")
    with pytest.raises(UnsafePathError, match="has no folder"):
        safe_join("", "a.png")


def test_safe_join_works_with_a_symlinked_root(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.png").write_bytes(b"a")
    os.symlink(real, tmp_path / "alias")
    assert safe_join(tmp_path / "alias", "a.png") == Path(os.path.realpath(real / "a.png"))


def test_the_module_imports_no_django():
    import ast

    source = Path(__file__).parents[2] / "curation" / "storage" / "paths.py"
    tree = ast.parse(source.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert "django" not in imported and "curation" not in imported
