"""Execution: products and routings, manufacturing orders, their operations run on machines."""
