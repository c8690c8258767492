"""The baseline library shipped with Spoor (YAML package data)."""
