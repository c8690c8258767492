"""The legal officers' and oversight console: an HTTP application on the admin port.

Starlette, Jinja2 templates (autoescaped) and htmx vendored under ``static/``;
no build step and nothing fetched from the internet. Sits beside ``node.rpc``
above the domain: it reads and decides through the same domain calls the CLI
uses, and never imports gRPC.
"""
