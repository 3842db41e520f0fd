"""Sparkplug B: the host application's view of edge nodes and devices (`host`); payloads are
the spec's protobuf messages from the `sparkplug-b-packets` package."""
