"""Central ingest: events the site edges published, read from the broker through a shared
subscription and stored exactly once (`service`)."""
