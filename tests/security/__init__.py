"""Tests after the OWASP API Security Top 10 (2023): access, limits, methods, configuration."""
