"""``Selection`` (``query.selection()`` / ``query.sampling()``): every call starts a normal
selection run on the server over the query's samples — the same service, tag rules and live
progress as the web app — and by default waits for it with a progress bar.

Methods take LightlyStudio's names (``selection_result_tag_name`` or its alias
``sampling_result_tag_name``); each returns the finished ``Run`` (or, with ``wait=False``,
the started one: call ``wait()`` / ``cancel()``). A failed run raises ``RunFailedError`` with
the server's sentence; a refused start (tag taken, bad config) raises ``BadRequestError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from curation.client.runs import Run
from curation.client.strategies import (
    AnnotationBalancingStrategy,
    Distribution,
    EmbeddingDiversityStrategy,
    MetadataWeightingStrategy,
    RandomStrategy,
    SelectionStrategy,
    SimilarityStrategy,
    ThresholdStrategy,
    TypicalityStrategy,
    selection_config,
)

if TYPE_CHECKING:
    from curation.client.queries import DatasetQuery


def _tag(selection_result_tag_name: str | None, sampling_result_tag_name: str | None) -> str:
    names = {n for n in (selection_result_tag_name, sampling_result_tag_name) if n is not None}
    if len(names) != 1:
        raise TypeError(
            "Give the result tag as selection_result_tag_name (or sampling_result_tag_name)."
        )
    return names.pop()


class Selection:
    """Selection strategies over the samples of a query."""

    def __init__(self, query: DatasetQuery):
        self.query = query

    def __repr__(self) -> str:
        return f"<Selection over {self.query!r}>"

    def run_config(
        self,
        config: dict[str, Any],
        tag: str,
        *,
        wait: bool = True,
        show_progress: bool | None = None,
        mask_tag: str | None = None,
        preselected_tag: str | None = None,
    ) -> Run:
        """Run a raw LightlyOne selection config; the result goes to the new tag ``tag``."""
        dataset = self.query.dataset
        body: dict[str, Any] = {
            "config": config,
            "result_tag_name": tag,
            "filter": self.query.filter_dict(),
        }
        if mask_tag is not None:
            body["mask_tag"] = mask_tag
        if preselected_tag is not None:
            body["preselected_tag"] = preselected_tag
        run = Run(dataset, dataset.connection.post(f"datasets/{dataset.id}/runs/", json=body))
        return run.wait(show_progress=show_progress) if wait else run

    def multi_strategies(
        self,
        n_samples_to_select: int,
        selection_result_tag_name: str | None = None,
        selection_strategies: list[SelectionStrategy] | None = None,
        *,
        sampling_result_tag_name: str | None = None,
        sampling_strategies: list[SelectionStrategy] | None = None,
        wait: bool = True,
        show_progress: bool | None = None,
    ) -> Run:
        """Several strategies in one run, weighted by their ``strength``."""
        strategies = (
            selection_strategies if selection_strategies is not None else sampling_strategies
        )
        config = selection_config(n_samples_to_select, list(strategies or []))
        tag = _tag(selection_result_tag_name, sampling_result_tag_name)
        return self.run_config(config, tag, wait=wait, show_progress=show_progress)

    def _one(
        self,
        strategy: SelectionStrategy,
        n: int,
        tag: str | None,
        alias: str | None,
        options: dict[str, Any],
    ) -> Run:
        config = selection_config(n, [strategy])
        return self.run_config(config, _tag(tag, alias), **options)

    def diverse(
        self,
        n_samples_to_select: int,
        selection_result_tag_name: str | None = None,
        embedding_model_name: str | None = None,
        *,
        sampling_result_tag_name: str | None = None,
        **options: Any,
    ) -> Run:
        """A diverse subset (farthest point in the embedding space)."""
        strategy = EmbeddingDiversityStrategy(embedding_model_name=embedding_model_name)
        return self._one(
            strategy,
            n_samples_to_select,
            selection_result_tag_name,
            sampling_result_tag_name,
            options,
        )

    def metadata_weighting(
        self,
        n_samples_to_select: int,
        selection_result_tag_name: str | None = None,
        metadata_key: str | None = None,
        strength: float = 1.0,
        *,
        sampling_result_tag_name: str | None = None,
        **options: Any,
    ) -> Run:
        """The samples with the highest values of ``metadata_key`` (lowest: ``strength=-1``)."""
        if metadata_key is None:
            raise TypeError("metadata_weighting() needs metadata_key.")
        strategy = MetadataWeightingStrategy(metadata_key=metadata_key, strength=strength)
        return self._one(
            strategy,
            n_samples_to_select,
            selection_result_tag_name,
            sampling_result_tag_name,
            options,
        )

    def annotation_balancing(
        self,
        n_samples_to_select: int,
        selection_result_tag_name: str | None = None,
        target_distribution: Distribution = "uniform",
        *,
        sampling_result_tag_name: str | None = None,
        task: str = "ground_truth",
        **options: Any,
    ) -> Run:
        """Balance annotation classes: ``"uniform"``, ``"input"`` or ``{class: ratio}``."""
        strategy = AnnotationBalancingStrategy(target_distribution=target_distribution, task=task)
        return self._one(
            strategy,
            n_samples_to_select,
            selection_result_tag_name,
            sampling_result_tag_name,
            options,
        )

    def typicality(
        self,
        n_samples_to_select: int,
        selection_result_tag_name: str | None = None,
        embedding_model_name: str | None = None,
        num_nearest_neighbors: int = 20,
        *,
        sampling_result_tag_name: str | None = None,
        **options: Any,
    ) -> Run:
        """The most typical samples of the candidates."""
        strategy = TypicalityStrategy(
            embedding_model_name=embedding_model_name, num_nearest_neighbors=num_nearest_neighbors
        )
        return self._one(
            strategy,
            n_samples_to_select,
            selection_result_tag_name,
            sampling_result_tag_name,
            options,
        )

    def similarity(
        self,
        n_samples_to_select: int,
        selection_result_tag_name: str | None = None,
        query_tag_name: str | None = None,
        embedding_model_name: str | None = None,
        *,
        sampling_result_tag_name: str | None = None,
        **options: Any,
    ) -> Run:
        """The samples closest to those of ``query_tag_name``."""
        if query_tag_name is None:
            raise TypeError("similarity() needs query_tag_name.")
        strategy = SimilarityStrategy(
            query_tag_name=query_tag_name, embedding_model_name=embedding_model_name
        )
        return self._one(
            strategy,
            n_samples_to_select,
            selection_result_tag_name,
            sampling_result_tag_name,
            options,
        )

    def threshold(
        self,
        n_samples_to_select: int,
        selection_result_tag_name: str | None = None,
        metadata_key: str | None = None,
        threshold: float = 0.0,
        operation: str = "BIGGER_EQUAL",
        *,
        sampling_result_tag_name: str | None = None,
        **options: Any,
    ) -> Run:
        """Candidates passing a metadata threshold, picked at random (seed 0) among them."""
        if metadata_key is None:
            raise TypeError("threshold() needs metadata_key.")
        config = selection_config(
            n_samples_to_select,
            [
                ThresholdStrategy(
                    metadata_key=metadata_key, threshold=threshold, operation=operation
                ),
                RandomStrategy(random_seed=0),
            ],
        )
        tag = _tag(selection_result_tag_name, sampling_result_tag_name)
        return self.run_config(config, tag, **options)

    def random(
        self,
        n_samples_to_select: int,
        selection_result_tag_name: str | None = None,
        random_seed: int | None = None,
        *,
        sampling_result_tag_name: str | None = None,
        **options: Any,
    ) -> Run:
        """A uniform random subset (reproducible with ``random_seed``)."""
        strategy = RandomStrategy(random_seed=random_seed)
        return self._one(
            strategy,
            n_samples_to_select,
            selection_result_tag_name,
            sampling_result_tag_name,
            options,
        )
