from django.urls import path

from learning.consumers import LiveConsumer

# Matched against the path after the tenant prefix (see TenantWebsocketMiddleware).
websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi(), name="ws-live"),
]
