"""The demo plant: a company, two sites in two timezones, 24 simulated machines."""
