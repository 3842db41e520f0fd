"""Maintenance: assets, preventive plans by calendar, run hours and cycles, and work orders.

Usage comes from what production already stores (state intervals, minute count buckets),
never from a copy: see `usage`.
"""
