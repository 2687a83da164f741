"""The config blocks of seeds 001 and 004 as the docs write them, made pasteable.

``seed_blocks.txt`` holds every block verbatim. :func:`pasteable` only swaps the docs'
placeholders for real names (and wraps seed 004's ``"strategy": {…}`` fragments and its Python
``strategies = [...]`` list into a whole config); comments, trailing commas and the rest stay
exactly as written.
"""

from __future__ import annotations

from pathlib import Path

BLOCKS_FILE = Path(__file__).with_name("seed_blocks.txt")

# What the docs leave to the reader, and the real names our test dataset has.
PLACEHOLDERS = {
    "my_object_detection_task": "model",
    "video_name: 1/len(videos) for video_name in videos": '"video-a": 0.5, "video-b": 0.5',
    "float(1e9)": "1e9",
    '"DATASET_ID_OF_THE_QUERY_IMAGES"': "{query_dataset_id}",
    "TAG_NAME_OF_THE_QUERY_IMAGES": "query",
}

# The input that goes with each of seed 004's strategy fragments.
FRAGMENT_INPUTS = {
    "DIVERSITY": '{"type": "EMBEDDINGS"}',
    "TYPICALITY": '{"type": "EMBEDDINGS"}',
    "SIMILARITY": '{"type": "EMBEDDINGS", "tag_name": "query"}',
    "WEIGHTS": '{"type": "SCORES", "task": "model", "score": "uncertainty_entropy"}',
    "THRESHOLD": '{"type": "METADATA", "key": "lightly.sharpness"}',
    "BALANCE": '{"type": "PREDICTIONS", "task": "model", "name": "CLASS_DISTRIBUTION"}',
}


def seed_blocks() -> list[tuple[str, str]]:
    """``[(title, text as written)]`` for every block."""
    blocks: list[tuple[str, str]] = []
    for line in BLOCKS_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("=== "):
            blocks.append((line[4:], ""))
        elif blocks:
            title, text = blocks[-1]
            blocks[-1] = (title, f"{text}{line}\n")
    return blocks


def pasteable(title: str, text: str, *, query_dataset_id: int = 1) -> str:
    """The block as a user would paste it into the builder or a file, placeholders filled."""
    for placeholder, real in PLACEHOLDERS.items():
        text = text.replace(placeholder, real.format(query_dataset_id=query_dataset_id))
    if text.startswith("strategies = ["):
        return '{"n_samples": 10, "strategies": ' + text[len("strategies = ") :] + "}"
    if text.startswith('"strategy"'):
        kind = next(k for k in FRAGMENT_INPUTS if f'"{k}"' in text)
        if kind == "BALANCE":
            text = text.replace('"Ambulance"', '"cat"').replace('"Bus"', '"dog"')
        return (
            '{"n_samples": 10, "strategies": [{"input": '
            + FRAGMENT_INPUTS[kind]
            + ",\n"
            + text
            + "}]}"
        )
    return text


def is_object_level(title: str) -> bool:
    return title.startswith("001 Object Diversity") or title.startswith("001 Object Typicality")
