"""The ``spoor`` command line."""
