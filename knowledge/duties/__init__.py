"""Duty rules: who is responsible for what, at which layer, on which legal basis."""
