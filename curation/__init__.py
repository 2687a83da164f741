"""Curation: a self-hosted web app to curate image datasets with Lightly-compatible selections."""
