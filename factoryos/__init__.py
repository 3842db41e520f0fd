"""FactoryOS: on-prem production monitoring for small and mid-size factories."""

__version__ = "0.1.0"
