"""The JSON API (Django REST framework) under /api/."""
