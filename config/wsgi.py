"""The WSGI application: `config.wsgi:application`, HTTP only (pages and API).

`make run` serves it with gunicorn (sync workers, one request at a time each, in
separate processes that share the listening socket): for this project's synchronous
views it costs about half the CPU per request of Django's ASGI handler, which hops
between the event loop and a thread for every request. Websockets stay on ASGI
(`config.asgi:application`, Channels), served beside it.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
