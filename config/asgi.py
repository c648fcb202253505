"""The ASGI application: `config.asgi:application` (HTTP and websockets)."""

import os
import warnings

import django

# Static files (whitenoise) and CSV exports are streamed from synchronous iterators, which
# Django's ASGI handler reads in a thread and warns about on every response: expected
# here, nothing to act on.
warnings.filterwarnings(
    "ignore",
    message="StreamingHttpResponse must consume synchronous iterators",
    category=Warning,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application() does

from config.handlers import SyncChainASGIHandler  # noqa: E402

django_asgi_app = SyncChainASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from insights.routing import websocket_urlpatterns  # noqa: E402
from learning.tenancy.websocket import TenantWebsocketMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            TenantWebsocketMiddleware(URLRouter(websocket_urlpatterns))
        ),
    }
)
