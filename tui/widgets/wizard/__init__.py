"""The onboarding wizard's steps, one pane each (tui/screens/onboarding.py switches between them)."""
