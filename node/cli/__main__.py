"""``python -m node.cli`` runs the ``spoor`` command."""

from __future__ import annotations

from node.cli.main import main

main()
