"""Reusable widgets: tiles, status lines, pickers, the QR code."""
