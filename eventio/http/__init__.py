"""The HTTP pipeline around the views: errors, responses, conditional requests, input
guards, rate limits, health."""
