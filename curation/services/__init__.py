"""The only place that writes: keyword-only, typed functions named ``<entity>_<action>``."""
