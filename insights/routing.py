from django.urls import path, re_path

from insights.consumers import LiveConsumer, NoSuchSocket

# Matched against the path after the tenant prefix (see TenantWebsocketMiddleware).
websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi(), name="ws-live"),
    # Anything else is refused quietly, not an error with a traceback.
    re_path(r"", NoSuchSocket()),  # type: ignore[arg-type]  # an ASGI app, for Channels' router
]
