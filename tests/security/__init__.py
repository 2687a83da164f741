"""Security tests: paths that could leave their folders, and who may import what."""
