"""Jobs: production orders from the ERP, imported from a CSV or XLSX file with a preview."""
