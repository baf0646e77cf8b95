"""The HTTP edge: REST routes for newsroom tools, and health/readiness for monitoring."""
