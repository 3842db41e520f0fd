"""Nonconformances (NC) and corrective and preventive actions (CAPA)."""
