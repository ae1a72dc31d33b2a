"""``tokendesk serve``: the forward-auth server that gateways (nginx ``auth_request``, Traefik
``forwardAuth``, Caddy ``forward_auth``) ask whether a request may pass.

- :mod:`~desktop.server.app`: the ASGI application, a plain callable (no web framework: one
  route decides, two report), answering from the in-memory access index.
- :mod:`~desktop.server.follower`: the thread that keeps that index current from the change
  log, knows how long ago the registry last answered, and writes the uses counted.
- :mod:`~desktop.server.usage` and :mod:`~desktop.server.metrics`: what is counted.
- :mod:`~desktop.server.worker`: one worker process's start; :mod:`~desktop.server.run`: the
  HTTP server (Granian) and its workers.
"""
