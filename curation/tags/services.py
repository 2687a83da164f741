"""Tags: named sample sets, written with bulk inserts or ``INSERT ... SELECT`` (so a tag of
1M filtered samples never round-trips through Python).

The one writer of tag membership: selection results, imports (``masked`` / ``selected``
columns), keep-first-k, manual tagging and the API all go through these functions, and the
tag-name rules live in :func:`tag_name_clean` alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from curation.db_bulk import insert_rows
from curation.filters import SampleFilter, filter_samples
from curation.models import Annotation, Dataset, Sample, Tag, TagAnnotation, TagSample


class TagError(ValueError):
    """A tag request that cannot be carried out; the message says why."""


TAG_NAME_MAX = 200


def tag_name_clean(name: str) -> str:
    """The tag-name rules, in one place: trimmed, not empty, at most 200 characters."""
    name = name.strip()
    if not name:
        raise TagError("A tag needs a name.")
    if len(name) > 200:
        raise TagError("A tag name may have at most 200 characters.")
    return name


def tag_create(
    *,
    dataset: Dataset,
    name: str,
    sample_ids: Iterable[int],
    kind: str = Tag.Kind.USER,
    created_by: Any = None,
    description: str = "",
    verified: bool = False,
) -> Tag:
    """Create a tag holding ``sample_ids`` (all must belong to ``dataset``).

    ``verified=True`` is for ids the caller just read from the dataset (a selection's picks):
    the membership check is skipped and the rows go in with one bulk insert; a sample deleted
    meanwhile fails the caller's transaction with an ``IntegrityError`` at commit.
    """
    name = tag_name_clean(name)
    ids = list(dict.fromkeys(int(i) for i in sample_ids))
    if ids and not verified:
        found = Sample.objects.filter(dataset=dataset, pk__in=ids).count()
        if found != len(ids):
            raise TagError(f"{len(ids) - found} of the samples do not belong to {dataset.name}.")
    try:
        with transaction.atomic():
            tag = Tag.objects.create(
                dataset=dataset,
                name=name,
                kind=kind,
                created_by=created_by,
                description=description,
            )
            insert_rows(TagSample, ("tag", "sample"), ((tag.pk, i) for i in ids))
    except IntegrityError:
        raise TagError(f"A tag named {name!r} already exists in {dataset.name}.") from None
    return tag


def tag_extend(
    *, dataset: Dataset, name: str, sample_ids: Iterable[int], created_by: Any = None
) -> tuple[Tag, int]:
    """Add ``sample_ids`` (already known to be the dataset's) to tag ``name``, creating it if
    needed, in the caller's transaction; returns the tag and how many samples it gained."""
    name = tag_name_clean(name)
    tag, _ = Tag.objects.get_or_create(
        dataset=dataset, name=name, defaults={"created_by": created_by, "kind": Tag.Kind.USER}
    )
    present = set(TagSample.objects.filter(tag=tag).values_list("sample_id", flat=True))
    new = [i for i in dict.fromkeys(int(i) for i in sample_ids) if i not in present]
    insert_rows(TagSample, ("tag", "sample"), ((tag.pk, i) for i in new))
    return tag, len(new)


def _insert_select(tag: Tag, select_sql: str, params: list[Any] | tuple[Any, ...]) -> int:
    """``INSERT INTO tagsample (tag_id, sample_id) SELECT tag, id FROM (select_sql)`` — the
    sample ids never travel through Python. Existing members are skipped."""
    table = TagSample._meta.db_table
    # One-column subquery; "WHERE true" keeps SQLite's parser from reading ON CONFLICT as a join.
    sql = (
        f"INSERT INTO {table} (tag_id, sample_id) "  # noqa: S608 (table name from the model)
        f"SELECT %s, sub.* FROM ({select_sql}) AS sub WHERE true "
        "ON CONFLICT (tag_id, sample_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tag.pk, *params])
        return max(cursor.rowcount, 0)


def _ids_sql(qs: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    return qs.query.get_compiler(using=qs.db).as_sql()


def _sample_ids_sql(qs: QuerySet[Sample]) -> tuple[str, tuple[Any, ...]]:
    return _ids_sql(qs.order_by().values_list("pk"))


def tag_create_from_filter(
    *,
    dataset: Dataset,
    name: str,
    sample_filter: SampleFilter,
    created_by: Any = None,
    description: str = "",
) -> Tag:
    """A new tag with every sample that matches ``sample_filter`` (one INSERT ... SELECT)."""
    name = tag_name_clean(name)
    queryset = filter_samples(dataset, sample_filter)  # FilterError before anything is written
    try:
        with transaction.atomic():
            tag = Tag.objects.create(
                dataset=dataset,
                name=name,
                created_by=created_by,
                description=description or f"From filter: {sample_filter.describe()}.",
            )
            _insert_select(tag, *_sample_ids_sql(queryset))
    except IntegrityError:
        raise TagError(f"A tag named {name!r} already exists in {dataset.name}.") from None
    return tag


def tag_add_samples(*, tag: Tag, sample_ids: Iterable[int]) -> int:
    """Add samples of the tag's dataset; returns how many were new. Foreign ids are an error."""
    ids = list(dict.fromkeys(int(i) for i in sample_ids))
    if not ids:
        return 0
    found = Sample.objects.filter(dataset_id=tag.dataset_id, pk__in=ids).count()
    if found != len(ids):
        raise TagError(f"{len(ids) - found} of the samples do not belong to this dataset.")
    existing = set(
        TagSample.objects.filter(tag=tag, sample_id__in=ids).values_list("sample_id", flat=True)
    )
    new = [TagSample(tag=tag, sample_id=i) for i in ids if i not in existing]
    TagSample.objects.bulk_create(new, batch_size=5000, ignore_conflicts=True)
    return len(new)


def tag_add_filter(*, tag: Tag, sample_filter: SampleFilter) -> int:
    """Add every sample matching the filter (INSERT ... SELECT); returns how many were new."""
    queryset = filter_samples(tag.dataset, sample_filter)
    with transaction.atomic():
        return _insert_select(tag, *_sample_ids_sql(queryset))


def tag_remove_samples(*, tag: Tag, sample_ids: Iterable[int]) -> int:
    ids = list(dict.fromkeys(int(i) for i in sample_ids))
    deleted, _ = TagSample.objects.filter(tag=tag, sample_id__in=ids).delete()
    return deleted


def tag_remove_filter(*, tag: Tag, sample_filter: SampleFilter) -> int:
    """Remove every member matching the filter (one DELETE ... WHERE sample_id IN (SELECT ...));
    returns how many left the tag."""
    queryset = filter_samples(tag.dataset, sample_filter).order_by().values("pk")
    deleted, _ = TagSample.objects.filter(tag=tag, sample_id__in=queryset).delete()
    return deleted


def tag_update(*, tag: Tag, name: str | None = None, description: str | None = None) -> Tag:
    """Rename the tag and/or change its description."""
    if name is not None:
        tag = tag_rename(tag=tag, name=name)
    if description is not None and description != tag.description:
        tag.description = description
        tag.save(update_fields=["description"])
    return tag


def tag_rename(*, tag: Tag, name: str) -> Tag:
    name = tag_name_clean(name)
    if name == tag.name:
        return tag
    if Tag.objects.filter(dataset_id=tag.dataset_id, name=name).exists():
        raise TagError(f"A tag named {name!r} already exists in {tag.dataset.name}.")
    tag.name = name
    tag.save(update_fields=["name"])
    return tag


def tag_delete(*, tag: Tag) -> None:
    with transaction.atomic():
        TagSample.objects.filter(tag=tag).delete()
        tag.delete()


TAG_OPERATIONS = {
    "union": "Union (in any)",
    "intersection": "Intersection (in all)",
    "difference": "Difference (in the first, in none of the others)",
}


def tag_combine(
    *,
    dataset: Dataset,
    name: str,
    operation: str,
    tags: list[Tag],
    created_by: Any = None,
) -> Tag:
    """A new tag from the union, intersection or difference (first minus the rest) of tags,
    computed in the database."""
    if operation not in TAG_OPERATIONS:
        raise TagError(f"Unknown operation {operation!r}: use union, intersection or difference.")
    if len(tags) < 2:
        raise TagError("Choose at least two tags to combine.")
    if any(t.dataset_id != dataset.pk for t in tags):
        raise TagError("All tags must belong to this dataset.")
    name = tag_name_clean(name)
    members = [TagSample.objects.filter(tag=t).values_list("sample_id") for t in tags]
    first, rest = members[0], members[1:]
    if operation == "union":
        combined = TagSample.objects.filter(tag__in=tags).values_list("sample_id").distinct()
    elif operation == "intersection":
        combined = first.intersection(*rest)
    else:
        combined = first.difference(*rest)
    description = f"{TAG_OPERATIONS[operation].split(' (')[0]} of " + ", ".join(
        t.name for t in tags
    )
    try:
        with transaction.atomic():
            tag = Tag.objects.create(
                dataset=dataset, name=name, created_by=created_by, description=description + "."
            )
            _insert_select(tag, *_ids_sql(combined))
    except IntegrityError:
        raise TagError(f"A tag named {name!r} already exists in {dataset.name}.") from None
    return tag


# ----------------------------------------------------------------------------- objects tags

OBJECTS_SUFFIX = "-objects"


def objects_tag_name(images_tag_name: str) -> str:
    """The name of the objects tag linked to an object-level run's image tag."""
    return tag_name_clean(images_tag_name[: TAG_NAME_MAX - len(OBJECTS_SUFFIX)] + OBJECTS_SUFFIX)


def tag_create_objects(
    *,
    dataset: Dataset,
    name: str,
    annotation_ids: Iterable[int],
    linked: Tag | None = None,
    created_by: Any = None,
    description: str = "",
    verified: bool = False,
) -> Tag:
    """Create an objects tag (kind ``objects``) holding ``annotation_ids`` in this order (their
    rank), ``linked`` to the tag of their images. ``verified``: the ids were just read from the
    dataset (a selection's picks), else each must be a box of one of the dataset's samples."""
    name = tag_name_clean(name)
    ids = list(dict.fromkeys(int(i) for i in annotation_ids))
    if ids and not verified:
        found = Annotation.objects.filter(sample__dataset=dataset, pk__in=ids).count()
        if found != len(ids):
            raise TagError(f"{len(ids) - found} of the objects do not belong to {dataset.name}.")
    try:
        with transaction.atomic():
            tag = Tag.objects.create(
                dataset=dataset,
                name=name,
                kind=Tag.Kind.OBJECTS,
                linked=linked,
                created_by=created_by,
                description=description,
            )
            insert_rows(
                TagAnnotation,
                ("tag", "annotation", "rank"),
                ((tag.pk, a, rank) for rank, a in enumerate(ids)),
            )
    except IntegrityError:
        raise TagError(f"A tag named {name!r} already exists in {dataset.name}.") from None
    return tag
