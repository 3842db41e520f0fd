"""Quality at the machine: inspection plans (versioned), due inspections, inspections, SPC."""
