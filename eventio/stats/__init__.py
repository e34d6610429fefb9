"""Ticket sales statistics of an event."""
