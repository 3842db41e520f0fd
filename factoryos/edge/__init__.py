"""Site edges: registration and credentials (`registry`), the edge process (`runtime`) that polls a
site's machines and publishes their events to the broker as a Sparkplug B edge node (`publisher`)."""
