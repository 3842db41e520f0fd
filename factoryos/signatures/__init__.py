"""Electronic signatures after 21 CFR Part 11: re-authentication, meaning, hash of what was signed."""
