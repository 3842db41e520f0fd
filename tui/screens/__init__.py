"""Screens, one module each. New areas (reports, backups, license, onboarding) add a
module here and an entry in `tui.screens.home.MENU`."""
