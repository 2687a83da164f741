"""Browsing videos: the video list and a video's frame viewer with its tag timeline (pages and
API), and the browser's filmstrips. Importing videos is ``curation.imports``' job."""
