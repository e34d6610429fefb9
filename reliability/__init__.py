"""Load, fault and fuzz campaigns whose figures go into docs/reliability.md."""
