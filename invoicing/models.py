"""Invoicing: filled in by its own issue; the app is installed so its tables and URLs have a home."""
