"""Where Curation's files live and the one checked way to reach them (``paths.safe_join``)."""
