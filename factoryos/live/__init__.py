"""The live view of a site: what each machine does now, composed from production, orders and connectivity."""
