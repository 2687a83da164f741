"""ASGI entry point: HTTP through Django, websockets through Channels (``routing.py``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "curation.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from curation.routing import websocket_urlpatterns  # noqa: E402
from curation.web.daphne_patches import install as daphne_patches_install  # noqa: E402
from curation.web.upload_limits import UploadLimitMiddleware  # noqa: E402

daphne_patches_install()  # Daphne keeps request bodies on disk and answers 413 itself

application = ProtocolTypeRouter(
    {
        "http": UploadLimitMiddleware(django_asgi_app),  # 413 over CURATION_MAX_UPLOAD_MB
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
