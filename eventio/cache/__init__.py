"""The cache: an in-process or Redis store, and the answers kept in it."""
