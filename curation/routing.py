from django.urls import path, re_path

from curation.realtime.consumers import RunProgressConsumer, UnknownPathConsumer
from curation.realtime.consumers_jobs import JobProgressConsumer

websocket_urlpatterns = [
    path("ws/runs/<int:run_id>/", RunProgressConsumer.as_asgi()),
    path("ws/jobs/<int:job_id>/", JobProgressConsumer.as_asgi()),
    # Last: any other path is refused at the handshake instead of failing with a 500.
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
