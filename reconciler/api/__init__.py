"""The read-only status endpoint: the platform portal's documented read APIs, the
reconciler's own sync status and Prometheus metrics.

Importing this package is cheap (the CLI registers `reconcile serve` through it); the web
stack is imported only by `reconciler.api.app` and `reconciler.api.server`.

Entry points for embedding (the agent's `--listen`):
  reconciler.api.context.ApiContext     what the endpoint serves (backend, state dir, spec)
  reconciler.api.app.create_app         ApiContext -> ASGI application
  reconciler.api.server.serve_in_thread ASGI app on HOST:PORT in a thread -> handle.stop()
  reconciler.api.server.start_status_server  both of the above in one call
"""
